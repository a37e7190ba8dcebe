"""The receiver's --out folder: owner-only files, a whole record per write, never through a link.

* Every file and folder is created readable by the owner only (0600 / 0700), whatever
  the umask: cameras send plates and pictures of people's cars.
* The folder is opened once; files are then opened relative to it with O_NOFOLLOW and
  created with O_EXCL, so a symbolic link planted in the folder (a dangling
  ``packets.jsonl``, an ``images`` link to elsewhere, a link inside ``images``) is never
  followed. A folder that looks tampered with is refused before anything is received.
* A record is one ``write`` of one line. When a write fails part-way (a full disk), the
  next record starts on a new line, so a reader loses only the torn record.
* A failure raises StorageError; the server answers it (HTTP 500, a TCP reset) so that
  the camera keeps the event and sends it again.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
LOGS = ("packets.jsonl", "capture.jsonl")


class StorageError(OSError):
    """The --out folder cannot be made, trusted or written (its message says which and why)."""


def holds_capture(folder: Path) -> bool:
    """Whether folder holds a receiver's capture (whose files a new one would add to or overwrite);
    links count, dangling ones included."""
    images = folder / "images"
    return (any(os.path.lexists(folder / name) for name in LOGS)
            or (images.is_dir() and not images.is_symlink() and any(images.iterdir())))


def _trusted(descriptor: int, shown: Path) -> None:
    """Refuse a folder another user owns or anyone may write in (they could plant links)."""
    info = os.fstat(descriptor)
    if info.st_uid != os.getuid():
        raise StorageError(f"{shown} belongs to another user; refusing to store there")
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise StorageError(f"anyone may write in {shown}; refusing to store there "
                                        "(chmod o-w it, or choose another folder)")


class Storage:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._folder_fd = -1
        self._images_fd = -1
        self._logs: dict[str, int] = {}
        self._torn: set[str] = set()  # logs whose last write stopped inside a line

    def open(self) -> Storage:
        folder = self.folder
        try:
            if folder.is_symlink():
                raise StorageError(f"{folder} is a symbolic link; give the folder it points to")
            if holds_capture(folder):
                raise FileExistsError(f"{folder} already holds a capture; choose another folder")
            for part in [*reversed(folder.parents[:len(folder.parts) - 1]), folder]:
                if not part.exists():  # the folders made here, parents included, are owner-only
                    part.mkdir(mode=0o700, exist_ok=True)
            self._folder_fd = os.open(folder, _DIRECTORY)
            _trusted(self._folder_fd, folder)
            try:
                os.mkdir("images", 0o700, dir_fd=self._folder_fd)
            except FileExistsError:
                pass
            try:
                self._images_fd = os.open("images", _DIRECTORY, dir_fd=self._folder_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise StorageError(f"{folder / 'images'} is not a folder of its own "
                                                  "(a symbolic link?); refusing to store there") from None
                raise
            _trusted(self._images_fd, folder / "images")
            for shown in (folder, folder / "images"):
                if not os.access(shown, os.W_OK | os.X_OK):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(shown))
        except (StorageError, FileExistsError):
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise StorageError(f"cannot store in {folder}: {exc.strerror or exc}") from exc
        return self

    def create_logs(self) -> None:
        """Create the logs now (each with O_EXCL, as append would), so that other processes can be
        handed them open (``descriptors``): several writers append to the same files."""
        for name in LOGS:
            if name not in self._logs:
                try:
                    self._logs[name] = os.open(name, _NEW_FILE | os.O_APPEND, 0o600, dir_fd=self._folder_fd)
                except OSError as exc:
                    raise StorageError(f"cannot write {self.folder / name}: {exc.strerror or exc}") from exc

    def descriptors(self) -> dict[str, int]:
        """The open folder, images folder and logs (see create_logs), for ``adopt`` in another process."""
        return {"folder": self._folder_fd, "images": self._images_fd, **self._logs}

    @classmethod
    def adopt(cls, folder: str | Path, descriptors: dict[str, int]) -> Storage:
        """A Storage writing through descriptors another process opened (and checked) with open()
        and create_logs(): the same folder, files appended to with O_APPEND, one write per record."""
        storage = cls(folder)
        storage._folder_fd, storage._images_fd = descriptors["folder"], descriptors["images"]
        storage._logs = {name: descriptors[name] for name in LOGS if name in descriptors}
        return storage

    def append(self, name: str, line: str) -> None:
        """Add one line (a record) to the log name, in one write."""
        data = (line + "\n").encode("utf-8", "surrogateescape")
        if name in self._torn:
            data = b"\n" + data  # the torn record ends here; this one starts on a line of its own
        descriptor = self._logs.get(name)
        try:
            if descriptor is None:
                # created now, never before: a file of that name that appeared since open() was planted
                descriptor = self._logs[name] = os.open(name, _NEW_FILE | os.O_APPEND, 0o600,
                                                        dir_fd=self._folder_fd)
            written = 0
            try:
                while written < len(data):
                    written += os.write(descriptor, data[written:])
            except OSError:
                if written:
                    self._torn.add(name)
                raise
            self._torn.discard(name)
        except OSError as exc:
            raise StorageError(f"cannot write {self.folder / name}: {exc.strerror or exc}") from exc

    def image(self, name: str, data: bytes) -> None:
        """Store an image as a new file images/name (name is a plain file name)."""
        if "/" in name or name in ("", ".", ".."):
            raise StorageError(f"not a plain file name: {name!r}")
        try:
            descriptor = os.open(name, _NEW_FILE, 0o600, dir_fd=self._images_fd)
        except OSError as exc:
            raise StorageError(f"cannot write {self.folder / 'images' / name}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(descriptor, "wb") as f:
                f.write(data)
        except OSError as exc:
            try:
                os.unlink(name, dir_fd=self._images_fd)  # no half image left behind
            except OSError:
                pass
            raise StorageError(f"cannot write {self.folder / 'images' / name}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        for descriptor in [*self._logs.values(), self._images_fd, self._folder_fd]:
            if descriptor >= 0:
                try:
                    os.close(descriptor)
                except OSError:
                    pass
        self._logs.clear()
        self._folder_fd = self._images_fd = -1
