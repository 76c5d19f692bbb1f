"""Suppliers, purchase orders, channels and sales orders."""
