"""Conference and international travel approval, and the post-trip report."""
