"""The pure core: rules about roles, consent and entry states. No Flask, no database."""
