"""The one way the worker's tools open a file they write (convert.py, tools/demo): the same
rules as cli/io/output_file.ts. A regular file (or nothing yet) is written to a temporary file
beside it and renamed over it; a symlink is resolved and its target written that way, so the
link stays a link; a character device or a FIFO is written through, never replaced; a
directory, socket or block device is refused. Errors are one line: "cannot write PATH: cause".
"""

import errno
import os
import stat
from contextlib import contextmanager

CAUSES = {
    errno.ENOENT: "directory {dir} does not exist",
    errno.ENOTDIR: "{dir} is not a directory",
    errno.EACCES: "permission denied in {dir}",
    errno.EPERM: "permission denied in {dir}",
    errno.EROFS: "{dir} is on a read-only file system",
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EPIPE: "its reader went away",
    errno.EISDIR: "it is a directory",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the file name is too long",
}


class OutputError(OSError):
    """A file that cannot be written; str() is the one-line message."""

    def __str__(self) -> str:
        return self.args[0]


def write_error(path: str, err: OSError, directory: str = None) -> OutputError:
    directory = directory or os.path.dirname(os.path.abspath(path))
    cause = CAUSES.get(err.errno, err.strerror or str(err)).format(dir=directory)
    if err.errno == errno.ENOENT and os.path.isdir(directory):  # /proc, /sys: no new files
        cause = f"{directory} does not let files be created in it (No such file or directory)"
    return OutputError(f"cannot write {path}: {cause}")


def _kind(path: str):
    """-> (path to write, st_mode or None when missing), symlinks followed."""
    try:
        info = os.stat(path)  # follows links, /proc magic links included
    except FileNotFoundError:
        return os.path.realpath(path), None  # a dangling link creates its target
    if stat.S_ISREG(info.st_mode):
        return os.path.realpath(path), info.st_mode
    return path, info.st_mode


@contextmanager
def output_file(path: str):
    """Yields a binary file for `path`, committed (renamed into place, or flushed) when the block
    ends without an exception; on an exception no temporary file is left."""
    try:
        target, mode = _kind(path)
    except OSError as err:
        raise write_error(path, err) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {path}: it is a directory")
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        try:
            with open(os.open(target, os.O_WRONLY), "wb") as f:
                yield f
        except OSError as err:
            raise write_error(path, err) from None
        return
    if mode is not None and not stat.S_ISREG(mode):
        what = "a socket" if stat.S_ISSOCK(mode) else "a block device" if stat.S_ISBLK(mode) \
            else "no regular file"
        raise OutputError(f"cannot write {path}: it is {what}; write to a regular file, a "
                          f"character device or a FIFO")
    directory = os.path.dirname(target) or "."
    tmp = os.path.join(directory, f".{os.path.basename(target)}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
    except OSError as err:
        raise write_error(path, err, directory) from None
    try:
        with open(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as err:
        raise write_error(path, err) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
