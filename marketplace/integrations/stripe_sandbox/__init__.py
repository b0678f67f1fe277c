"""A local Stripe-compatible sandbox: the embedded default and the tests' payment service.

It implements the endpoints the payments adapter uses, statefully and in Stripe's wire
format, so the official SDK reaches it through `base_addresses` like it reaches Stripe.
See the README's "Payments" section for what it models and what it does not.
"""
from .sandbox import API_VERSION, Fault, Sandbox
from .server import SandboxServer, embedded
from .webhooks import sign

__all__ = ["API_VERSION", "Fault", "Sandbox", "SandboxServer", "embedded", "sign"]
