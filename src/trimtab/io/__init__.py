"""Reading and validating scenarios and books; writing proposals. The I/O boundary."""
