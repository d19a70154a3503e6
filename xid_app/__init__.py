"""XID: cross-identification of radio sources with their optical/IR hosts."""

__version__ = "0.1.0"
