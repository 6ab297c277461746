"""Column-wise paths of the check for national scale (issue 15), each byte for byte its row-wise original."""
