"""One exception family, with messages a staff member or operator can act on."""


class DiaryRoomError(Exception):
    """Base for every error the project raises on purpose."""


class ConfigError(DiaryRoomError):
    """A setting is missing, unknown or has a value we cannot use."""


class ComponentUnavailable(DiaryRoomError):
    """A configured component (ffmpeg, S3, Redis, database) cannot be reached."""


class StorageError(DiaryRoomError):
    """Media could not be stored, read or deleted."""


class MediaError(DiaryRoomError):
    """ffmpeg or ffprobe could not read a file."""


class TranscriptionError(DiaryRoomError):
    """Speech recognition could not produce a transcript."""


class PipelineError(DiaryRoomError):
    """The anonymisation pipeline cannot prove its output for this entry. The message
    is the reason staff see on an entry that ``needs_attention``."""


class Conflict(DiaryRoomError):
    """The request is valid but not in the entry's current state (e.g. approving an
    entry whose audio is still being re-rendered)."""

    code = "conflict"


class NotFound(DiaryRoomError):
    """The thing asked for does not exist (or belongs to another organisation)."""

    code = "not_found"  # the same code as a 404 for an unknown URL


class Withdrawn(DiaryRoomError):
    """The entry was withdrawn: only its tombstone is left (HTTP 410)."""

    code = "withdrawn"

    def __init__(self, message: str = "This entry was withdrawn and its recording and "
                                      "words deleted."):
        super().__init__(message)


class Gone(DiaryRoomError):
    """It existed and was taken back on purpose (a revoked feed link, an episode no
    longer published): HTTP 410, so podcast apps stop asking."""

    code = "gone"


class InvalidInput(DiaryRoomError):
    """The request was understood but its content is not acceptable."""

    def __init__(self, message: str, *, code: str = "invalid_input"):
        super().__init__(message)
        self.code = code
