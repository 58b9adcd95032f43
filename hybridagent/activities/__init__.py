"""Activities: everything that touches the network or the disk."""
