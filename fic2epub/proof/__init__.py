"""Proofing: find what the author should fix, and say where (line and column in the
author's own file) and how (ranked suggestions)."""

from __future__ import annotations

from .checkers import Checker, RealWordChecker, SpellingChecker, TypographyChecker
from .document import Document, document_from_story, document_from_text
from .engine import (
    CHECKERS,
    ProofOptions,
    ProofResult,
    level_of,
    proof_bytes,
    proof_document,
    proof_file,
    proof_story,
    should_fail,
)

__all__ = [
    "CHECKERS",
    "Checker",
    "Document",
    "ProofOptions",
    "ProofResult",
    "RealWordChecker",
    "SpellingChecker",
    "TypographyChecker",
    "document_from_story",
    "document_from_text",
    "level_of",
    "proof_bytes",
    "proof_document",
    "proof_file",
    "proof_story",
    "should_fail",
]
