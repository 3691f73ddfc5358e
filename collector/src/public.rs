//! Static files from `public_dir` at `/`: lets one collector serve a site
//! (the demo) and the widget's `dist/` beside the lead endpoint. Paths are
//! resolved inside the folder only; anything else is a 404.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::{error, App};

/// The fallback route serving `public_dir`.
pub fn routes() -> Router<Arc<App>> {
    Router::new().fallback(serve)
}

/// The file under `root` that `path` names, if the path stays inside it.
pub fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut file = root.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(name) if !name.to_string_lossy().starts_with('.') => file.push(name),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

async fn serve(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let not_found = || error(StatusCode::NOT_FOUND, None, format!("nothing at {path}"));
    if request.method() != axum::http::Method::GET && request.method() != axum::http::Method::HEAD {
        return not_found();
    }
    let Some(root) = &app.settings.public_dir else { return not_found() };
    let Some(file) = resolve(root, &path) else { return not_found() };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file))),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ];
            (headers, bytes).into_response()
        }
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let root = std::env::temp_dir().join(format!("leadscore-public-{}", std::process::id()));
        std::fs::create_dir_all(root.join("shop")).unwrap();
        std::fs::write(root.join("index.html"), "home").unwrap();
        std::fs::write(root.join("shop/index.html"), "shop").unwrap();
        std::fs::write(root.join(".secret"), "no").unwrap();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/shop/?x=1"), Some(root.join("shop/index.html")));
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/shop/../../x"), None);
        assert_eq!(resolve(&root, "/.secret"), None);
        assert_eq!(resolve(&root, "/missing.html"), None);
    }
}
