//! The book under `/book/` while the playground is on, so the playground's "read more" links
//! resolve on a development server. It is the HTML that `scripts/docs` builds into `docs/book`
//! (read from the working directory, as `cargo run -- serve` from the repository has it); when
//! that folder is missing, `/book/` answers 404 with a note saying how to build it. The book is
//! documentation, not part of the API: it is never served with the playground off.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

/// Where `scripts/docs` writes the built book, relative to the working directory.
pub const BOOK_DIR: &str = "docs/book";

const NOT_BUILT: &str = "<!doctype html><meta charset=\"utf-8\"><title>Latchkey book</title>\
<p>The Latchkey book is not built on this server. In the repository, run \
<code>./scripts/docs</code> (it writes <code>docs/book/</code>), then reload; or read the \
Markdown in <code>docs/src/</code>.</p>";

/// GET /book/: the book's first page.
pub async fn index(State(app): State<AppState>) -> Response {
    page_or_404(&app, "").await
}

/// GET /book/{*path}: one file of the book.
pub async fn page(State(app): State<AppState>, UrlPath(path): UrlPath<String>) -> Response {
    page_or_404(&app, &path).await
}

async fn page_or_404(app: &AppState, path: &str) -> Response {
    if !app.auth.runtime().config.playground_enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(Path::new(BOOK_DIR), path).await
}

/// Answers `path` (relative, as in the URL) from the built book in `dir`: a folder gives its
/// `index.html`; anything else that is not a plain file in `dir` is 404.
pub async fn serve(dir: &Path, path: &str) -> Response {
    if !dir.is_dir() {
        return (StatusCode::NOT_FOUND, Html(NOT_BUILT)).into_response();
    }
    let Some(mut file) = resolve(dir, path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if file.is_dir() {
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `dir` joined with `path`, or `None` when `path` could leave `dir` (`..`, a root, a drive) or
/// names a hidden file.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let mut file = dir.to_path_buf();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) if !part.to_string_lossy().starts_with('.') => file.push(part),
            _ => return None,
        }
    }
    Some(file)
}

/// The types mdBook's output uses; anything else is served as bytes.
fn content_type(file: &Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_book() {
        let dir = Path::new("/srv/book");
        assert_eq!(
            resolve(dir, "sign-in/passkeys.html"),
            Some(PathBuf::from("/srv/book/sign-in/passkeys.html"))
        );
        assert_eq!(resolve(dir, ""), Some(PathBuf::from("/srv/book")));
        for bad in [
            "../secret",
            "a/../../b",
            "/etc/passwd",
            ".git/config",
            "a/.hidden",
        ] {
            assert_eq!(resolve(dir, bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn serves_files_folders_and_a_note_when_not_built() {
        let dir = std::env::temp_dir().join(format!("latchkey-book-{}", uuid::Uuid::new_v4()));
        let missing = serve(&dir, "").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(missing.into_body(), 4096)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("./scripts/docs"));

        std::fs::create_dir_all(dir.join("sign-in")).unwrap();
        std::fs::write(dir.join("index.html"), "<h1>Latchkey</h1>").unwrap();
        std::fs::write(dir.join("sign-in/passkeys.html"), "<h1>Passkeys</h1>").unwrap();
        let index = serve(&dir, "").await;
        assert_eq!(index.status(), StatusCode::OK);
        assert_eq!(
            index.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(serve(&dir, "sign-in/passkeys.html").await.status(), 200);
        assert_eq!(serve(&dir, "nope.html").await.status(), 404);
        assert_eq!(serve(&dir, "../x").await.status(), 404);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
