"""The offline side: `sealdrop-admin`, which holds the private keys."""
