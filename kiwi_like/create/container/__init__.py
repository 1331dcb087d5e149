"""Container images (docker and oci types): a layer tarball of the root plus OCI metadata.

layer.py writes reproducible layer tarballs, config.py turns <containerconfig>
into the OCI image config and builder.py puts it together for the two result
types; the OCI layout and tree snapshots are in `kiwi_like/oci/`, the
derived_from base import in `kiwi_like/prepare/base_image.py`.
"""
