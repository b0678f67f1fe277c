"""Engage JSON API (placeholder replaced below)."""
from flask import Blueprint

bp = Blueprint("engage_api", __name__)
