"""Who is asking: staff sessions, personal API tokens and kiosk tokens, and the
one place where every route's declared access is enforced."""
from .access import KIOSK, PUBLIC, allow
from .principal import Principal, current_principal

__all__ = ["KIOSK", "PUBLIC", "allow", "Principal", "current_principal"]
