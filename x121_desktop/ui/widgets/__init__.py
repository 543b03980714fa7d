"""Small reusable widgets; they make no service calls."""
