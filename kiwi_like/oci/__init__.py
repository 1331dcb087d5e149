"""OCI image layouts and root-tree snapshots, shared by the base-image import (prepare)
and the container builder (create)."""
