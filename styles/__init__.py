"""Stylesheets shipped with fic2epub (installed as the ``fic2epub.styles`` package)."""
