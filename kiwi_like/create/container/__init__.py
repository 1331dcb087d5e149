"""Container images (docker and oci types): a layer tarball of the root plus OCI metadata.

tree.py scans the root, layer.py writes reproducible layer tarballs, config.py
turns <containerconfig> into the OCI image config, layout.py writes the OCI
image layout and its archive, base.py imports a derived_from base image and
builder.py puts it together for the two result types.
"""
