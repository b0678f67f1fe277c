"""Engage pages (placeholder replaced below)."""
from flask import Blueprint

bp = Blueprint("engage", __name__)
