"""The click commands of `sealdrop-admin`, one module per area."""
