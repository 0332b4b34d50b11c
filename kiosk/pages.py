"""Kiosk pages: pairing, the recording flow (one page, screens shown one at a time by
static/kiosk/kiosk.js and its modules) and the spoken prompts it plays."""
from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, gettext, ngettext

from diaryroom import accounts
from diaryroom.auth import KIOSK, PUBLIC, allow, current_principal
from diaryroom.auth.principal import KIOSK_COOKIE, principal_for_token
from diaryroom.domain import consent
from diaryroom.extensions import limiter
from diaryroom.i18n import DEFAULT_LOCALE
from diaryroom.models import Kiosk
from diaryroom.proxy import client_address

from . import bp, cards, voice

COOKIE_AGE = 365 * 24 * 3600  # seconds: a paired kiosk stays paired until revoked
MAX_TEXT_CHARS = 10_000
UPLOAD_CHUNK = 1024 * 1024  # bytes per tus PATCH


@bp.route("/pair", methods=["GET", "POST"])
@allow(PUBLIC)
# Only failed attempts count, so pairing a roomful of devices is never refused; counted per
# client address through the trusted proxy hops, like sign-in.
@limiter.limit("10 per minute", methods=["POST"], key_func=client_address,
               deduct_when=lambda response: response.status_code == 401)
def pair():
    """Pair this device: staff either open the one-time link on it (the token arrives in
    the URL fragment, never sent to or logged by the server, and the page posts it
    here) or type the short pairing code shown on their Kiosks page."""
    if request.method == "POST":
        token = request.form.get("token", "").strip()
        if _must_ask(token):
            asking = make_response(render_template("kiosk/pair.html", confirm_token=token))
            asking.headers["Cache-Control"] = "no-store"  # it holds the token
            return asking
        if token.startswith(Kiosk.PREFIX):
            principal = principal_for_token(token)
            valid = principal is not None and principal.kind == "kiosk"
        else:
            redeemed = accounts.redeem_pairing_code(token) if token else None
            valid, token = redeemed is not None, redeemed[1] if redeemed else ""
        if not valid:
            flash("That pairing code is not valid, has been used, or has run out. Ask for a "
                  "new one on the Kiosks page.", "error")
            return render_template("kiosk/pair.html"), 401
        response = make_response(redirect(url_for("kiosk.home")))
        response.set_cookie(KIOSK_COOKIE, token, max_age=COOKIE_AGE, httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"],
                            samesite="Strict", path="/")
        return response
    return render_template("kiosk/pair.html", paired_as=_paired_as())


def _paired_as() -> str | None:
    """The name of the kiosk this device is set up as, for staff: the kiosk's own screens
    never show it (it means nothing to the person recording)."""
    principal = current_principal()
    return principal.kiosk.name if principal is not None and principal.kind == "kiosk" else None


def _must_ask(token: str) -> bool:
    """A pairing link opened on a device already set up as a kiosk (even one since
    revoked) asks before re-pairing it: a link can come from anyone. Asked on the page's
    own POST, because the kiosk cookie is SameSite=Strict and so not sent when the link
    is opened from another site."""
    if request.form.get("via") != "link" or request.form.get("confirmed") == "yes":
        return False
    current = request.cookies.get(KIOSK_COOKIE)
    return bool(current) and current != token


def duration_words(seconds: int) -> str:
    """``900`` -> "15 minutes"; ``90`` -> "1 minute and 30 seconds"."""
    minutes, rest = divmod(seconds, 60)
    secs = ngettext("%(num)d second", "%(num)d seconds", rest)
    if not minutes:
        return secs
    mins = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return mins if not rest else f"{mins} {secs}"


def clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def client_texts() -> dict[str, str]:
    """Words kiosk.js shows or says, translated here. ``{name}`` marks are filled in there.
    The same everyday words as the screens (no "consent", "withdraw", "receipt"...); the
    done screens' words are voice.py's, so what is shown is what "Read aloud" says."""
    _ = gettext
    return {
        "app_name": _("Diary Room"),
        "step": _("Step {n} of {total}"),
        "read_aloud": _("Read aloud"),
        "stop_reading": _("Stop reading"),
        "just_talk": _("Just talk"),
        "just_write": _("Just write"),
        "your_question": _("Your question:"),
        "preparing_audio": _("Getting the microphone ready…"),
        "preparing_video": _("Wait a moment. We are getting ready."),
        "ready": _("Press Start recording when you are ready."),
        "recording": _("Recording. Press Stop when you have finished."),
        "paused": _("Paused. Press Carry on recording to go on."),
        # The record screen's instruction: before (voice.py's "record") and while recording.
        "record_ready_lead": str(voice.PROMPTS["record"]),
        "record_recording_lead": _("You are recording now. Press Stop when you have "
                                   "finished. You can pause at any time."),
        "one_minute": _("One minute left. The recording stops by itself at {max}."),
        "seconds_left": _("{n} seconds left. The recording stops by itself at {max}."),
        "auto_stopped": _("You reached the longest recording allowed, so it stopped by "
                          "itself. Nothing has been lost."),
        "mic_error": _("We could not use the microphone. Check that nothing else is using "
                       "it and try again, or write instead."),
        "camera_error": _("We could not use the camera or the mic. You can try again, "
                          "use sound only, or write."),
        "no_recorder": _("It cannot record here. Please write instead."),
        "length": _("Length: {time}"),
        "saving_percent": _("{percent}% saved"),
        "saving_retry": _("The connection dropped. It is safe here and we will keep "
                          "trying."),
        "saving_problem": _("We could not save it yet. It is safe here and we will keep "
                            "trying."),
        "saving_full": _("We cannot save it just now. It is safe here and we will keep "
                         "trying."),
        "still_saving": _("We are still saving your last recording."),
        "saved_earlier": _("Your last recording has been saved safely. To keep it private, "
                           "its code is only shown to the person who made it."),
        "saved_no_code": _("It has been saved safely, but we cannot show its code this "
                           "time."),
        "write_empty": _("Please write something first, or go back."),
        # How much room is left, in words (no counts): plenty, a little, none.
        "write_count": _("You can write a lot more."),
        "write_nearly": _("You can only write a little more."),
        "write_full": _("There is no room for more."),
        "lookup_empty": _("Please type your code first."),
        "lookup_format": _("That does not look like your code. It is three words and a "
                           "number, like amber otter lake 27."),
        "not_found": _("We could not find anything with that code. Check the words and try "
                       "again."),
        "too_many": _("Too many tries. Please wait a while, then try again."),
        "network": _("We could not reach the server. Please try again in a moment."),
        "audience_team": _("Only the diary room staff"),
        "audience_organisation": _("People who work here"),
        "audience_public": _("Anyone on the internet"),
        "voice_disguise": _("Changed so people cannot tell it is you"),
        "voice_natural": _("Not changed"),
        "panel_yes": _("Yes, a few words may be shared"),
        "panel_no": _("No, nothing is shared"),
        "already_withdrawn": str(voice.PROMPTS["change_found_gone"]),
        "changed_title": str(voice.TITLES["changed"]),
        "changed_text": str(voice.PROMPTS["changed"]),
        "withdrawn_title": str(voice.TITLES["withdrawn"]),
        "withdrawn_text": str(voice.PROMPTS["withdrawn"]),
        "idle_count": _("Going back to the start in {n} seconds."),
    }


@bp.get("/")
@allow(KIOSK)
def home():
    config = current_app.config
    max_seconds = int(config["MAX_RECORDING_SECONDS"])
    base = url_for("kiosk.home")  # /kiosk/
    data = {
        "urls": {
            "uploads": base + "uploads",
            "entries": base + "entries",
            "lookup": base + "receipts/lookup",
            "consent": base + "receipts/consent",
            "withdraw": base + "receipts/withdraw",
            "voice": base + "voice/",
            "words": base + "voice/words/",
        },
        "maxSeconds": max_seconds,
        "maxTextChars": MAX_TEXT_CHARS,
        "text": client_texts(),
    }
    response = make_response(render_template(
        "kiosk/app.html", kiosk=current_principal().kiosk, cards=cards.active_cards(),
        consent_rules=consent.client_rules(),
        prompts=voice.PROMPTS, titles=voice.TITLES, data=data, max_seconds=max_seconds,
        max_words=duration_words(max_seconds), max_clock=clock(max_seconds),
        idle_seconds=int(config["KIOSK_IDLE_SECONDS"]), chunk_size=UPLOAD_CHUNK,
        max_text_chars=MAX_TEXT_CHARS))
    # It holds a CSRF token and whatever the person was doing: never keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def _send_mp3(make):
    try:
        path = make()
    except KeyError:
        abort(404)
    except voice.VoiceUnavailable as e:
        current_app.logger.error("spoken prompts unavailable: %s", e)
        abort(503, "Spoken help is not available on this kiosk at the moment.")
    return send_file(path, mimetype="audio/mpeg", max_age=3600, conditional=True)


@bp.get("/voice/<key>.mp3")
@allow(KIOSK)
def voice_prompt(key: str):
    """A screen's words, spoken (made with espeak-ng the first time they are asked for)."""
    return _send_mp3(lambda: voice.ensure_prompt(current_app.config["DATA_DIR"], key,
                                                 _locale()))


@bp.get("/voice/words/<word>.mp3")
@allow(KIOSK)
def voice_word(word: str):
    """One word (or the number) of a receipt code, spoken."""
    return _send_mp3(lambda: voice.ensure_word(current_app.config["DATA_DIR"], word,
                                               _locale()))
