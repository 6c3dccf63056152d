"""The one error type the library raises about its inputs."""

from __future__ import annotations


class WarehouseError(Exception):
    """A problem with an input, carrying where it was found.

    Printed as ``path:line: message`` (text formats) or ``path@offset: message``
    (binary formats, offset in bytes of the decompressed stream).
    """

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        offset: int | None = None,
        salvageable: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
        # False where keeping the records read before the damage would be
        # wrong (an archive whose checksum fails: which document is bad?)
        self.salvageable = salvageable

    def __reduce__(self):  # keep the location when sent between processes
        return (type(self), (self.message, self.path, self.line, self.offset, self.salvageable))

    def located(self, path: str | None = None, line: int | None = None,
                offset: int | None = None) -> "WarehouseError":
        """Fill in the location where the raiser did not know it."""
        if self.path is None:
            self.path = path
        if self.line is None and self.offset is None:
            self.line, self.offset = line, offset
        return self

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        elif self.offset is not None:
            where = f"{where}@{self.offset}"
        return f"{where}: {self.message}"
