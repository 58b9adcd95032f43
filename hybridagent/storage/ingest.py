"""Reading files for the knowledge base and cutting them into searchable chunks."""

from __future__ import annotations

from pathlib import Path

SUPPORTED = (".txt", ".md", ".markdown", ".pdf")
CHUNK_CHARS = 1200


class IngestError(ValueError):
    """A file the knowledge base cannot take; a user mistake, one sentence."""


def read_text(path: Path) -> str:
    """The file's text; .txt and .md as UTF-8, .pdf through pypdf."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(f"{path} is not a .txt, .md or .pdf file.")
    if not path.is_file():
        raise IngestError(f"{path} is not a readable file.")
    if suffix == ".pdf":
        text = _pdf_text(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise IngestError(f"{path} is not UTF-8 text.") from None
    if not text.strip():
        raise IngestError(f"{path} has no text to index.")
    return text


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise IngestError("Reading PDF files needs pypdf: pip install pypdf.") from None
    try:
        reader = PdfReader(path)
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, OSError) as err:
        raise IngestError(f"{path} is not a readable PDF ({err}).") from None


def chunk_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Paragraph-aligned chunks of at most about `size` characters: a search hit is a
    passage a model can read, not a whole document. Over-long paragraphs are cut on
    whitespace."""
    chunks: list[str] = []
    current = ""
    for paragraph in (p.strip() for p in text.split("\n\n")):
        if not paragraph:
            continue
        for piece in _split_long(paragraph, size):
            if current and len(current) + len(piece) + 2 > size:
                chunks.append(current)
                current = piece
            else:
                current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(paragraph: str, size: int) -> list[str]:
    pieces: list[str] = []
    while len(paragraph) > size:
        cut = paragraph.rfind(" ", 0, size)
        cut = cut if cut > 0 else size
        pieces.append(paragraph[:cut].strip())
        paragraph = paragraph[cut:].strip()
    return [*pieces, paragraph] if paragraph else pieces
