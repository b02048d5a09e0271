//! Nhost's template layout, `<dir>/<locale>/<template>/{subject.txt,body.html}`, with `${name}`
//! variables. The English and French templates are built in; files under `AUTH_EMAIL_TEMPLATES_PATH`
//! override them per locale and file.

use std::collections::HashMap;
use std::path::Path;

use super::Template;

/// The built-in templates (`email-templates/<locale>` in the repository), English and
/// French, one pair each; `None` for another locale.
fn builtin(template: Template, part: Part, locale: &str) -> Option<&'static str> {
    macro_rules! pair {
        ($locale:literal, $name:literal) => {
            match part {
                Part::Subject => include_str!(concat!(
                    "../../email-templates/",
                    $locale,
                    "/",
                    $name,
                    "/subject.txt"
                )),
                Part::Body => include_str!(concat!(
                    "../../email-templates/",
                    $locale,
                    "/",
                    $name,
                    "/body.html"
                )),
            }
        };
    }
    macro_rules! locale {
        ($locale:literal) => {
            match template {
                Template::EmailVerify => pair!($locale, "email-verify"),
                Template::EmailConfirmChange => pair!($locale, "email-confirm-change"),
                Template::PasswordReset => pair!($locale, "password-reset"),
                Template::SigninPasswordless => pair!($locale, "signin-passwordless"),
                Template::SigninOtp => pair!($locale, "signin-otp"),
            }
        };
    }
    match locale {
        "en" => Some(locale!("en")),
        "fr" => Some(locale!("fr")),
        _ => None,
    }
}

/// The built-in SMS text (`<locale>/signin-passwordless-sms/body.txt`), English and French.
fn builtin_sms(locale: &str) -> Option<&'static str> {
    match locale {
        "en" => Some(include_str!(
            "../../email-templates/en/signin-passwordless-sms/body.txt"
        )),
        "fr" => Some(include_str!(
            "../../email-templates/fr/signin-passwordless-sms/body.txt"
        )),
        _ => None,
    }
}

/// Nhost's SMS template: plain text, one variable, `${code}`.
const SMS_TEMPLATE: &str = "signin-passwordless-sms";
const SMS_FILE: &str = "body.txt";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Subject,
    Body,
}

impl Part {
    fn file_name(self) -> &'static str {
        match self {
            Part::Subject => "subject.txt",
            Part::Body => "body.html",
        }
    }
}

/// The values a template may use, by their Nhost names.
#[derive(Debug, Default)]
pub struct TemplateVars<'a> {
    pub link: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub new_email: &'a str,
    pub ticket: &'a str,
    pub redirect_to: &'a str,
    pub locale: &'a str,
    pub server_url: &'a str,
    pub client_url: &'a str,
    /// The one-time code (`signin-otp`); the same value as `ticket` there.
    pub code: &'a str,
}

impl TemplateVars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "link" => self.link,
            "displayName" => self.display_name,
            "email" => self.email,
            "newEmail" => self.new_email,
            "ticket" => self.ticket,
            "redirectTo" => self.redirect_to,
            "locale" => self.locale,
            "serverUrl" => self.server_url,
            "clientUrl" => self.client_url,
            "code" => self.code,
            _ => return None,
        })
    }
}

/// A rendered mail: a one-line subject and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Template files read at start (and on `/change-env`), so a bad folder fails early and
/// sending never touches the disk.
#[derive(Debug, Default)]
pub struct Templates {
    custom: HashMap<(String, Template, Part), String>,
    /// `<locale>/signin-passwordless-sms/body.txt` files, by locale.
    custom_sms: HashMap<String, String>,
    default_locale: String,
}

impl Templates {
    /// Built-in templates only.
    pub fn builtin(default_locale: &str) -> Self {
        Templates {
            custom: HashMap::new(),
            custom_sms: HashMap::new(),
            default_locale: default_locale.to_owned(),
        }
    }

    /// Reads every known template file under `dir/<locale>/`; missing files are fine (the
    /// fallbacks apply), unreadable ones are an error naming the file.
    pub fn load(dir: &Path, default_locale: &str) -> Result<Self, String> {
        let mut templates = Templates::builtin(default_locale);
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("AUTH_EMAIL_TEMPLATES_PATH: {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let locale = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_dir() {
                continue;
            }
            let sms = entry.path().join(SMS_TEMPLATE).join(SMS_FILE);
            if sms.is_file() {
                let text = std::fs::read_to_string(&sms)
                    .map_err(|e| format!("AUTH_EMAIL_TEMPLATES_PATH: {}: {e}", sms.display()))?;
                templates.custom_sms.insert(locale.clone(), text);
            }
            for template in Template::ALL {
                for part in [Part::Subject, Part::Body] {
                    let path = entry.path().join(template.name()).join(part.file_name());
                    if !path.is_file() {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        format!("AUTH_EMAIL_TEMPLATES_PATH: {}: {e}", path.display())
                    })?;
                    templates
                        .custom
                        .insert((locale.clone(), template, part), text);
                }
            }
        }
        Ok(templates)
    }

    /// Renders `template` for `locale`. Each file falls back to the default locale, then to
    /// English, then to the built-in text.
    // Nhost: a template missing in the user's locale falls back to the default locale's
    // `email-verify`, whatever was asked for; here it is always the same template.
    pub fn render(&self, template: Template, locale: &str, vars: &TemplateVars<'_>) -> Rendered {
        let subject = substitute(self.text(template, Part::Subject, locale), vars, false);
        // A subject is one header line: a value with a line break must not add headers.
        let subject = subject
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let body = substitute(self.text(template, Part::Body, locale), vars, true);
        Rendered { subject, body }
    }

    /// The SMS carrying a sign-in `code`, in `locale` (falling back as mails do), as one
    /// trimmed plain text: no escaping, `${code}` and `${locale}` substituted.
    pub fn render_sms(&self, locale: &str, code: &str) -> String {
        let text = [locale, self.default_locale.as_str(), "en"]
            .into_iter()
            .find_map(|l| {
                self.custom_sms
                    .get(l)
                    .map(String::as_str)
                    .or_else(|| builtin_sms(l))
            })
            .unwrap_or_default();
        let vars = TemplateVars {
            code,
            locale,
            ..TemplateVars::default()
        };
        substitute(text, &vars, false).trim().to_owned()
    }

    fn text(&self, template: Template, part: Part, locale: &str) -> &str {
        [locale, self.default_locale.as_str(), "en"]
            .into_iter()
            .find_map(|l| {
                self.custom
                    .get(&(l.to_owned(), template, part))
                    .map(String::as_str)
                    .or_else(|| builtin(template, part, l))
            })
            .unwrap_or_else(|| builtin(template, part, "en").unwrap_or_default())
    }
}

/// Replaces each `${name}` by its value, HTML-escaped when `html`. Unknown names become empty
/// (as Nhost's fasttemplate does); an unclosed `${` stays as written.
fn substitute(text: &str, vars: &TemplateVars<'_>, html: bool) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some((before, after)) = rest.split_once("${") {
        out.push_str(before);
        let Some((name, tail)) = after.split_once('}') else {
            out.push_str("${");
            rest = after;
            break;
        };
        let value = vars.get(name).unwrap_or_default();
        if html {
            escape_html(value, &mut out);
        } else {
            out.push_str(value);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Values come from users (display names, redirect URLs): escaped, they cannot add markup
/// or break out of an attribute.
fn escape_html(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars<'static> {
        TemplateVars {
            link: "https://auth.test/verify?a=1&b=2",
            display_name: "Ada <b>\"L\"</b>",
            email: "ada@example.test",
            locale: "fr",
            ..Default::default()
        }
    }

    #[test]
    fn substitution_escapes_html_but_not_subjects() {
        let v = vars();
        assert_eq!(
            substitute("<a href=\"${link}\">${displayName}</a>", &v, true),
            "<a href=\"https://auth.test/verify?a=1&amp;b=2\">Ada &lt;b&gt;&quot;L&quot;&lt;/b&gt;</a>"
        );
        assert_eq!(
            substitute("Hi ${displayName}", &v, false),
            "Hi Ada <b>\"L\"</b>"
        );
        assert_eq!(substitute("${unknown}x${email", &v, true), "x${email");
        assert_eq!(substitute("$${email}}", &v, false), "$ada@example.test}");
        assert_eq!(substitute("no variables", &v, true), "no variables");
    }

    #[test]
    fn builtins_cover_every_template() {
        let t = Templates::builtin("en");
        for template in Template::ALL {
            let r = t.render(template, "en", &vars());
            assert!(!r.subject.is_empty() && !r.subject.contains('\n'));
            assert!(r.body.contains("<html"), "{}", template.name());
        }
        let r = t.render(Template::EmailVerify, "xx", &vars());
        assert_eq!(r.subject, "Verify your email");
        assert!(
            r.body
                .contains("href=\"https://auth.test/verify?a=1&amp;b=2\"")
        );
        assert!(r.body.contains("lang=\"fr\""));
    }

    #[test]
    fn custom_files_fall_back_per_locale_and_keep_the_template() {
        let dir = std::env::temp_dir().join(format!("latchkey-tpl-{}", uuid::Uuid::new_v4()));
        let write = |path: &str, text: &str| {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "fr/email-verify/subject.txt",
            "Vérifiez ${email}\r\nBcc: x\n",
        );
        write("fr/email-verify/body.html", "<p>${link}</p>");
        write("de/password-reset/subject.txt", "Passwort");
        write(
            "en/password-reset/body.html",
            "<p>custom en ${displayName}</p>",
        );
        let t = Templates::load(&dir, "de").unwrap();
        let fr = t.render(Template::EmailVerify, "fr", &vars());
        assert_eq!(fr.subject, "Vérifiez ada@example.test  Bcc: x");
        assert_eq!(fr.body, "<p>https://auth.test/verify?a=1&amp;b=2</p>");
        // es has neither files nor built-ins: the default locale's subject, the custom English
        // body, same template.
        let reset = t.render(Template::PasswordReset, "es", &vars());
        assert_eq!(reset.subject, "Passwort");
        assert!(reset.body.starts_with("<p>custom en Ada &lt;b&gt;"));
        // Nothing custom for these: the built-in French, or English for another locale.
        let otp = t.render(Template::SigninOtp, "fr", &vars());
        assert_eq!(otp.subject, "Votre code de connexion à usage unique");
        let reset = t.render(Template::PasswordReset, "fr", &vars());
        assert_eq!(reset.subject, "Réinitialisation de votre mot de passe");
        let otp = t.render(Template::SigninOtp, "es", &vars());
        assert_eq!(otp.subject, "Your one-time sign-in code");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Templates::load(&dir, "en").is_err());
    }

    #[test]
    fn sms_texts_are_built_in_and_overridable() {
        let t = Templates::builtin("en");
        assert_eq!(t.render_sms("en", "012345"), "Your code is 012345.");
        assert_eq!(t.render_sms("fr", "012345"), "Votre code est 012345.");
        assert_eq!(t.render_sms("es", "012345"), "Your code is 012345.");
        let dir = std::env::temp_dir().join(format!("latchkey-sms-{}", uuid::Uuid::new_v4()));
        let path = dir.join("de").join(SMS_TEMPLATE);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join(SMS_FILE), "Ihr Code: ${code} <${unknown}>\n").unwrap();
        let t = Templates::load(&dir, "de").unwrap();
        assert_eq!(t.render_sms("de", "000042"), "Ihr Code: 000042 <>");
        // Another locale without a file of its own: the default locale's file.
        assert_eq!(t.render_sms("it", "000042"), "Ihr Code: 000042 <>");
        assert_eq!(t.render_sms("fr", "000042"), "Votre code est 000042.");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
