"""Plain references the tests hold the product's vectorised kernels against."""
