//! The `[admin]` table of `rowport.toml`: every key is optional.

use std::path::{Path, PathBuf};

use rowport::config::Config;
use rowport_formats::Format;
use serde::Deserialize;

/// Why the `[admin]` table could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: [admin] {message}")]
pub struct SettingsError {
    /// The config file.
    pub path: String,
    /// What is wrong, naming the key.
    pub message: String,
}

/// A custom field of the import form, passed to the resource's hooks in `Context.extra`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImportField {
    /// The key in `Context.extra` (letters, digits, `_`).
    pub name: String,
    /// The label the form shows.
    pub label: String,
    /// The choices of a select; a text box when absent.
    #[serde(default)]
    pub choices: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    templates: Option<PathBuf>,
    mount: Option<String>,
    import_formats: Option<Vec<String>>,
    export_formats: Option<Vec<String>>,
    escape_formulae: Option<bool>,
    skip_import_confirm: Option<bool>,
    page_size: Option<usize>,
    preview_page_size: Option<usize>,
    background_rows: Option<u64>,
    secure_cookies: Option<bool>,
    allowed_origins: Option<Vec<String>>,
    import_error_display: Option<Vec<String>>,
    #[serde(default)]
    import_fields: Vec<ImportField>,
    /// The `[admin.state]` table, which the state store reads.
    state: Option<toml::Table>,
}

/// The admin's settings, with defaults filled in.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// A folder whose templates replace the embedded ones of the same name.
    pub templates: Option<PathBuf>,
    /// The path the router is mounted at (`/admin`), for links; empty at the root.
    pub mount: String,
    /// The largest upload accepted, in bytes: `[admin.state] max_upload_bytes`, else 100 MiB.
    pub max_upload: u64,
    /// Formats an upload may have (default: every readable format).
    pub import_formats: Vec<Format>,
    /// Formats an export may have (default: every writable format).
    pub export_formats: Vec<Format>,
    /// Prefix spreadsheet cells that start with `= + - @`, tab, CR or LF with `'` (default on).
    pub escape_formulae: bool,
    /// Import straight from the upload, without the preview and confirm step.
    pub skip_import_confirm: bool,
    /// Rows per change-list page (default 50).
    pub page_size: usize,
    /// Rows per preview page (default 100).
    pub preview_page_size: usize,
    /// Imports of at least this many rows run in the background after confirm (default 5,000).
    pub background_rows: u64,
    /// Mark cookies `Secure` (set it when the admin is served over HTTPS).
    pub secure_cookies: bool,
    /// Origins accepted on forms besides the request's own host (`https://admin.example.com`).
    pub allowed_origins: Vec<String>,
    /// Custom fields of the import form.
    pub import_fields: Vec<ImportField>,
    /// Show each failed row's error message on the result page (`"message"` in
    /// `import_error_display`; the default).
    pub error_message: bool,
    /// Show each failed row's values from the file on the result page (`"row"` in
    /// `import_error_display`).
    pub error_row: bool,
    /// The `[admin.state]` table, as written (the state store's settings).
    pub state: toml::Table,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings::from_raw(Raw::default(), Path::new("")).expect("the defaults are valid")
    }
}

impl AdminSettings {
    /// The settings of a config's `[admin]` table (the defaults when it has none). A relative
    /// `templates` folder is relative to the config file.
    pub fn from_config(config: &Config) -> Result<AdminSettings, SettingsError> {
        let path = config.path.display().to_string();
        let raw: Raw = match &config.admin {
            None => Raw::default(),
            Some(table) => {
                table
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| SettingsError {
                        path: path.clone(),
                        message: e.message().to_owned(),
                    })?
            }
        };
        let base = config.path.parent().unwrap_or(Path::new(""));
        AdminSettings::from_raw(raw, base).map_err(|message| SettingsError { path, message })
    }

    fn from_raw(raw: Raw, base: &Path) -> Result<AdminSettings, String> {
        let formats = |key: &str, names: Option<Vec<String>>, write: bool| {
            let Some(names) = names else {
                return Ok(Format::ALL
                    .into_iter()
                    .filter(|f| !write || f.writable())
                    .collect());
            };
            names
                .iter()
                .map(|n| {
                    let format: Format = n.parse().map_err(|_| {
                        format!("{key}: \"{n}\" is not a format (expected csv, tsv, json, jsonl, yaml, html, xlsx, xls or ods)")
                    })?;
                    if write && !format.writable() {
                        return Err(format!("{key}: rowport cannot write {n}"));
                    }
                    Ok(format)
                })
                .collect::<Result<Vec<_>, String>>()
        };
        for field in &raw.import_fields {
            if field.name.is_empty()
                || !field
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!(
                    "import_fields: \"{}\" is not a field name (letters, digits and _)",
                    field.name
                ));
            }
        }
        let display = raw
            .import_error_display
            .unwrap_or_else(|| vec!["message".to_owned()]);
        if display.is_empty() {
            return Err(
                "import_error_display: list at least one of \"message\" and \"row\"".to_owned(),
            );
        }
        for part in &display {
            match part.as_str() {
                "message" | "row" => {}
                // DJE shows Python tracebacks; rowport's row errors have none to show.
                "traceback" => {
                    return Err("import_error_display: \"traceback\" is not available, rowport's row errors have no tracebacks (use \"message\" and \"row\")".to_owned());
                }
                other => {
                    return Err(format!(
                        "import_error_display: \"{other}\" is not a part of an error (expected \"message\" or \"row\")"
                    ));
                }
            }
        }
        let mount = raw.mount.unwrap_or_default();
        let mount = mount.trim_end_matches('/').to_owned();
        if !mount.is_empty() && !mount.starts_with('/') {
            return Err(format!("mount: \"{mount}\" must start with /"));
        }
        Ok(AdminSettings {
            templates: raw
                .templates
                .map(|t| if t.is_absolute() { t } else { base.join(t) }),
            mount,
            max_upload: raw
                .state
                .as_ref()
                .and_then(|t| t.get("max_upload_bytes"))
                .and_then(|v| v.as_integer())
                .map_or(100 << 20, |n| n.max(0) as u64),
            import_formats: formats("import_formats", raw.import_formats, false)?,
            export_formats: formats("export_formats", raw.export_formats, true)?,
            escape_formulae: raw.escape_formulae.unwrap_or(true),
            skip_import_confirm: raw.skip_import_confirm.unwrap_or(false),
            page_size: raw.page_size.unwrap_or(50).clamp(1, 1000),
            preview_page_size: raw.preview_page_size.unwrap_or(100).clamp(1, 1000),
            background_rows: raw.background_rows.unwrap_or(5_000),
            secure_cookies: raw.secure_cookies.unwrap_or(false),
            allowed_origins: raw.allowed_origins.unwrap_or_default(),
            import_fields: raw.import_fields,
            error_message: display.iter().any(|p| p == "message"),
            error_row: display.iter().any(|p| p == "row"),
            state: raw.state.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::parse(
            "[admin]\nimport_formats = [\"csv\"]\ntemplates = \"tpl\"\n[admin.state]\nmax_upload_bytes = 1024\nuploads = \"redis\"\n",
            Path::new("/srv/rowport.toml"),
        )
        .unwrap();
        let s = AdminSettings::from_config(&config).unwrap();
        assert_eq!(s.max_upload, 1024);
        assert_eq!(s.import_formats, vec![Format::Csv]);
        assert_eq!(s.templates, Some(PathBuf::from("/srv/tpl")));
        assert!(s.escape_formulae);
        assert_eq!(
            s.state.get("uploads").and_then(|v| v.as_str()),
            Some("redis")
        );
        assert!(!s.export_formats.contains(&Format::Xls));
    }

    #[test]
    fn import_error_display_parts() {
        let parse = |toml: &str| {
            AdminSettings::from_config(&Config::parse(toml, Path::new("rowport.toml")).unwrap())
        };
        let s = parse("").unwrap();
        assert!(s.error_message && !s.error_row);
        let s = parse("[admin]\nimport_error_display = [\"row\"]\n").unwrap();
        assert!(!s.error_message && s.error_row);
        let e =
            parse("[admin]\nimport_error_display = [\"message\", \"traceback\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "rowport.toml: [admin] import_error_display: \"traceback\" is not available, rowport's row errors have no tracebacks (use \"message\" and \"row\")"
        );
    }

    #[test]
    fn a_bad_format_names_the_key() {
        let config = Config::parse(
            "[admin]\nexport_formats = [\"xls\"]\n",
            Path::new("rowport.toml"),
        )
        .unwrap();
        let e = AdminSettings::from_config(&config).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rowport.toml: [admin] export_formats: rowport cannot write xls"
        );
    }
}
