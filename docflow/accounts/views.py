"""Account pages: registration, confirmation, login, recovery, profile."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from docflow.accounts import captcha
from docflow.accounts import services as svc
from docflow.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)
from docflow.accounts.redirects import safe_redirect_target
from docflow.context import current_runtime, db_session, settings
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.extensions import limiter

bp = Blueprint("accounts", __name__, template_folder="templates", url_prefix="/account")

# Failed logins: per account, against guessing one password from many addresses;
# per address, against trying many accounts from one.
LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"


CAPTCHA_FAILED = (
    "Проверка «Я не робот» не пройдена или устарела. Дождитесь отметки «Проверено» "
    "и отправьте форму ещё раз."
)


@bp.get("/captcha")
@limiter.limit("60 per minute")
def captcha_challenge() -> Any:
    """A fresh «Я не робот» challenge for the ALTCHA widget (JSON)."""
    g.no_store = True
    return jsonify(captcha.new_challenge(settings().secret_key))


def _captcha_passed() -> bool:
    """Check and spend the posted solution, in a transaction of its own: a
    solved challenge buys one submission, whatever becomes of the form."""
    s = db_session()
    try:
        with transaction(s):
            return captcha.use_solution(
                s, secret_key=settings().secret_key, payload=request.form.get("altcha")
            )
    except IntegrityError:  # spent by a concurrent request a moment earlier
        return False


def _safe_next(target: str | None) -> str:
    return safe_redirect_target(target, default=url_for("dashboard.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = RegistrationForm()
    captcha_error = None
    if request.method == "POST":
        passed = _captcha_passed()
        if form.validate_on_submit():
            if not passed:
                captcha_error = CAPTCHA_FAILED
            else:
                try:
                    email = _register(form)
                except ValidationError as exc:
                    field = getattr(form, str(exc.details.get("field", "")), None)
                    if field is not None:
                        field.errors = [exc.message]
                    else:
                        flash(exc.message, "error")
                else:
                    return render_template("accounts/registered.html", email=email)
        elif not passed:
            captcha_error = CAPTCHA_FAILED
    return render_template(
        "accounts/register.html",
        form=form,
        captcha_error=captcha_error,
        password_rule=svc.PASSWORD_RULE,
    )


def _register(form: RegistrationForm) -> str:
    """Register the form's address (the same page for a new and a known one:
    the owner of a known one is told by e-mail instead). Two requests for one
    new address at once: the second finds it taken at commit and is handled
    again as a known address."""
    s = db_session()
    for attempt in (1, 2):
        try:
            with transaction(s):
                return svc.register_customer(
                    s,
                    email=form.email.data or "",
                    password=form.password.data or "",
                    last_name=form.last_name.data or "",
                    first_name=form.first_name.data or "",
                    middle_name=form.middle_name.data or "",
                    runtime=current_runtime(),
                )
        except IntegrityError:
            s.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@bp.get("/confirm/<token>")
def confirm(token: str) -> Any:
    s = db_session()
    try:
        with transaction(s):
            svc.confirm_email(s, token)
    except ValidationError as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400
    flash("Адрес электронной почты подтверждён. Теперь можно войти.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/resend", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def resend_confirmation() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        s = db_session()
        with transaction(s):
            user = svc.get_user_by_email(s, form.email.data or "")
            if user is not None and not user.is_email_confirmed:
                svc.send_confirmation(s, user=user, runtime=current_runtime())
        flash(
            "Если учётная запись существует и не подтверждена, мы отправили новую ссылку.",
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/resend.html", form=form)


def _login_failed(response: Response) -> bool:
    # Only failed attempts count against the limits: a user who logs in and out
    # all day is not locked out.
    return response.status_code != 302


def _account_key() -> str:
    return "login-account:" + svc.normalize_email(request.form.get("email", ""))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT_PER_ADDRESS, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    LOGIN_LIMIT_PER_ACCOUNT,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        s = db_session()
        with transaction(s):
            user = svc.authenticate(
                s, email=form.email.data or "", password=form.password.data or ""
            )
            if user is not None and user.is_active and user.is_email_confirmed:
                svc.record_login(s, user)
        if user is None or not user.is_active:
            flash("Неверный адрес электронной почты или пароль.", "error")
        elif not user.is_email_confirmed:
            flash(
                "Адрес электронной почты ещё не подтверждён. Перейдите по ссылке из письма "
                "или запросите новую.",
                "warning",
            )
        else:
            target = request.args.get("next")
            # A fresh session at login: nothing from before authentication survives.
            session.clear()
            login_user(user, remember=bool(form.remember.data))
            return redirect(_safe_next(target))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        # Ended on the server too: a copy of the session or remember-me cookie
        # kept from before (or stolen) no longer logs anyone in.
        s = db_session()
        with transaction(s):
            svc.end_sessions(s, user=current_user._get_current_object())
    # Cleared first: logout_user() then marks the remember-me cookie for removal.
    session.clear()
    logout_user()
    flash("Вы вышли из личного кабинета.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        s = db_session()
        with transaction(s):
            svc.request_password_reset(
                s, email=form.email.data or "", runtime=current_runtime()
            )
        # The same answer whether or not the address is known: no enumeration.
        flash(
            "Если учётная запись с этим адресом существует, мы отправили на него ссылку "
            "для восстановления пароля. Ссылка действует 72 часа.",
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    s = db_session()
    try:
        svc.peek_token(s, token, svc.TokenPurpose.RESET_PASSWORD)
    except ValidationError as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction(s):
                svc.reset_password(s, raw=token, password=form.password.data or "")
        except ValidationError as exc:
            form.password.errors = [exc.message]
        else:
            flash("Пароль изменён. Войдите с новым паролем.", "success")
            return redirect(url_for("accounts.login"))
    return render_template(
        "accounts/reset.html", form=form, password_rule=svc.PASSWORD_RULE
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    form = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        s = db_session()
        try:
            with transaction(s):
                user = current_user._get_current_object()
                pending = svc.update_profile(
                    s,
                    user=user,
                    last_name=form.last_name.data or "",
                    first_name=form.first_name.data or "",
                    middle_name=form.middle_name.data or "",
                    phone=form.phone.data,
                    email=form.email.data or "",
                    runtime=current_runtime(),
                )
        except ValidationError as exc:
            field = getattr(form, str(exc.details.get("field", "")), None)
            if field is not None:
                field.errors = [exc.message]
            else:
                flash(exc.message, "error")
        else:
            flash("Профиль сохранён.", "success")
            if pending:
                flash(
                    "На новый адрес отправлено письмо: адрес изменится после перехода по "
                    "ссылке из него.",
                    "info",
                )
            return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html", form=form, password_form=password_form
    )


@bp.post("/password")
@login_required
def change_password() -> Any:
    form = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        s = db_session()
        try:
            with transaction(s):
                user = current_user._get_current_object()
                svc.change_password(
                    s,
                    user=user,
                    old=password_form.old_password.data or "",
                    new=password_form.password.data or "",
                )
        except ValidationError as exc:
            target = (
                password_form.old_password
                if exc.details.get("field") == "old_password"
                else password_form.password
            )
            target.errors = [exc.message]
        else:
            # The session version changed, which ended every session: this one
            # goes on under the new version (remembered if it was before).
            remembered = request.cookies.get(
                current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            )
            session.clear()
            login_user(user, remember=remembered is not None)
            flash("Пароль изменён.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html", form=form, password_form=password_form
    ), 422


@bp.get("/confirm-email/<token>")
def confirm_email_change(token: str) -> Any:
    s = db_session()
    try:
        with transaction(s):
            svc.confirm_email_change(s, token)
    except ValidationError as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400
    flash("Новый адрес электронной почты подтверждён.", "success")
    return redirect(
        url_for("accounts.profile")
        if current_user.is_authenticated
        else url_for("accounts.login")
    )
