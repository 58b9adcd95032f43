"""Model backends (one module each) and the HybridModelProvider that routes between them."""
