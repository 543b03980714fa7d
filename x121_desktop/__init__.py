"""X121 Studio: a native desktop studio for AI image-to-video production.

Importing this package loads no Qt, SQLAlchemy, cv2, av or dlib.
"""

__version__ = "0.1.0"
