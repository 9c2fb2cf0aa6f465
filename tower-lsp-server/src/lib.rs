//! The Plumb language server: LSP over stdio, on the same salsa database as the CLI.
//!
//! One [`State`] holds the database and the workspace's files behind a mutex. An edit
//! takes the lock and sets one input (salsa cancels every reader still running on an
//! older revision); a request clones the database (a snapshot), leaves the lock, and
//! runs on a blocking thread, where a cancellation or a panic is caught and answered
//! as an error instead of taking the server down.

mod completion;
mod convert;
mod features;
mod guard;
mod snapshot;
mod tokens;

use plumb_config::Config;
use plumb_db::{Database, Origin, SourceFile, Workspace};
use plumb_diagnostics::FileId;
use snapshot::{Kind, Snapshot, YamlView};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

/// Serves LSP on standard input and output until the client exits.
pub fn run_stdio() {
    // queries recurse over the syntax tree: hostile nesting needs the stack the CLI gives
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(256 << 20)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("plumb lsp: cannot start: {e}");
            std::process::exit(2);
        }
    };
    runtime.block_on(async {
        let (service, socket) = LspService::new(Backend::new);
        guard::serve_stdio(|input, output| Server::new(input, output, socket).serve(service)).await;
    });
    // the guard may still wait on standard input, a blocking read nothing can interrupt:
    // do not wait for it once the server has ended
    runtime.shutdown_background();
}

struct Entry {
    path: PathBuf,
    file: SourceFile,
    /// The version of the open buffer, when the editor has the file open.
    version: Option<i32>,
    kind: Kind,
}

struct State {
    db: Database,
    ws: Workspace,
    files: Vec<Entry>,
    by_path: HashMap<PathBuf, usize>,
    /// What was last published per file, to publish only what changed.
    published: HashMap<usize, Vec<Diagnostic>>,
    /// Counts edits; a diagnostics pass started before the latest edit is dropped.
    generation: u64,
    /// The workspace folders, whose `plumb.toml` files are read again when one changes.
    roots: Vec<PathBuf>,
}

impl State {
    fn new() -> Self {
        let db = Database::default();
        let ws = plumb_db::new_workspace(&db, Vec::new(), Config::default());
        State {
            db,
            ws,
            files: Vec::new(),
            by_path: HashMap::new(),
            published: HashMap::new(),
            generation: 0,
            roots: Vec::new(),
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            db: self.db.clone(),
            ws: self.ws,
            files: self
                .files
                .iter()
                .map(|e| (e.path.clone(), e.file))
                .collect(),
            kinds: self.files.iter().map(|e| e.kind.clone()).collect(),
        }
    }

    /// An open GitLab CI file: its text, and the program it is read as (read again on
    /// every edit: the import of a file of a few hundred jobs takes milliseconds).
    fn yaml_file(&mut self, path: &Path, text: String, origin: Origin) -> usize {
        let disk = plumb_import::Disk::for_file(path, None);
        let read = plumb_import::import_for_check(path, &text, &disk);
        let i = self.file(path, text, origin);
        let program_path = PathBuf::from(format!("{}#plumb", path.display()));
        let (program_text, mapping, error) = match read {
            Ok(read) => {
                // the files it includes are not shown here: their findings are dropped
                let mut sources = vec![FileId(i as u32)];
                sources.resize(read.sources.len().max(1), FileId(u32::MAX));
                let mapping = plumb_db::yaml::YamlProgram::new(read.origins, read.renames, sources)
                    .with_refused(read.refused, read.refused_lines, read.refusals);
                (read.plumb, mapping, None)
            }
            Err(e) => (
                String::new(),
                plumb_db::yaml::YamlProgram::new(Default::default(), Vec::new(), Vec::new()),
                Some((e.line, e.message)),
            ),
        };
        let program = self.file(&program_path, program_text, origin);
        self.files[program].kind = Kind::Program;
        self.files[i].kind = Kind::Yaml(Arc::new(YamlView {
            program: FileId(program as u32),
            mapping,
            error,
        }));
        i
    }

    /// The file at `path`, added to the workspace when it is new.
    fn file(&mut self, path: &Path, text: String, origin: Origin) -> usize {
        if let Some(&i) = self.by_path.get(path) {
            let file = self.files[i].file;
            if file.text(&self.db) != &text || file.origin(&self.db) != origin {
                plumb_db::set_text(&mut self.db, file, text, origin);
            }
            return i;
        }
        let i = self.files.len();
        let file = plumb_db::new_file(&self.db, FileId(i as u32), path.to_path_buf(), text, origin);
        self.files.push(Entry {
            path: path.to_path_buf(),
            file,
            version: None,
            kind: Kind::Plumb,
        });
        self.by_path.insert(path.to_path_buf(), i);
        let all: Vec<SourceFile> = self.files.iter().map(|e| e.file).collect();
        plumb_db::set_files(&mut self.db, self.ws, all);
        i
    }
}

pub struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
    /// `PLUMB_LSP_FAIL=<request>` makes that request panic: the end-to-end tests use it
    /// to prove that a panic is logged and answered, and the server goes on.
    fail: Option<String>,
}

impl Backend {
    fn new(client: Client) -> Self {
        Backend {
            client,
            state: Arc::new(Mutex::new(State::new())),
            fail: std::env::var("PLUMB_LSP_FAIL").ok(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // a panic while holding the lock poisons it; the state itself stays usable
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a read on a snapshot, on a blocking thread; a cancelled read (an edit came
    /// in) and a panic both become errors, and a panic is logged.
    async fn read<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Snapshot) -> T + Send + 'static,
    ) -> Result<T> {
        let snap = self.lock().snapshot();
        let fail = self.fail.as_deref() == Some(what);
        let outcome = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                if fail {
                    panic!("PLUMB_LSP_FAIL={what}");
                }
                f(&snap)
            }))
        })
        .await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => {
                if payload.downcast_ref::<salsa::Cancelled>().is_some() {
                    return Err(Error {
                        code: ErrorCode::ServerError(-32801), // ContentModified
                        message: "the document changed; ask again".into(),
                        data: None,
                    });
                }
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                self.client
                    .log_message(
                        MessageType::ERROR,
                        format!("plumb: {what} failed: {message} (a bug: please report it)"),
                    )
                    .await;
                Err(Error::internal_error())
            }
            Err(e) => {
                self.client
                    .log_message(MessageType::ERROR, format!("plumb: {what} failed: {e}"))
                    .await;
                Err(Error::internal_error())
            }
        }
    }

    /// [`Backend::read`] about one file: `None` when the workspace does not hold it.
    async fn read_file<T: Send + 'static>(
        &self,
        uri: &Uri,
        what: &'static str,
        f: impl FnOnce(&Snapshot, FileId) -> T + Send + 'static,
    ) -> Result<Option<T>> {
        let Some(id) = self.file_of(uri) else {
            return Ok(None);
        };
        // an open GitLab CI file gets its diagnostics, hover and the fixes of its findings
        // (edits of the YAML), nothing that reads it as Plumb (formatting it as Plumb
        // would destroy it)
        let yaml = matches!(self.lock().files[id.0 as usize].kind, Kind::Yaml(_));
        if yaml && !matches!(what, "hover" | "code actions") {
            return Ok(None);
        }
        self.read(what, move |s| f(s, id)).await.map(Some)
    }

    fn file_of(&self, uri: &Uri) -> Option<FileId> {
        let path = uri.to_file_path()?;
        self.lock()
            .by_path
            .get(path.as_ref())
            .map(|&i| FileId(i as u32))
    }

    /// Recomputes diagnostics after an edit and publishes those that changed, and always
    /// those of the edited file (with its version, so a client can tell what they are for).
    async fn publish(&self, edited: Option<usize>) {
        let (snap, generation) = {
            let st = self.lock();
            (st.snapshot(), st.generation)
        };
        let n = snap.files.len();
        let computed = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                (0..n)
                    .map(|i| features::diagnostics(&snap, FileId(i as u32)))
                    .collect::<Vec<_>>()
            }))
        })
        .await;
        let Ok(Ok(all)) = computed else {
            return; // cancelled by a newer edit, which publishes in its turn
        };
        let mut to_send = Vec::new();
        {
            let mut st = self.lock();
            if st.generation != generation {
                return;
            }
            for (i, diags) in all.into_iter().enumerate() {
                if matches!(st.files[i].kind, Kind::Program) {
                    continue; // not a file of the user's
                }
                let changed = st.published.get(&i) != Some(&diags);
                if changed || Some(i) == edited {
                    let Some(uri) = Uri::from_file_path(&st.files[i].path) else {
                        continue;
                    };
                    to_send.push((uri, diags.clone(), st.files[i].version));
                    st.published.insert(i, diags);
                }
            }
        }
        for (uri, diags, version) in to_send {
            self.client.publish_diagnostics(uri, diags, version).await;
        }
    }

    fn load_workspace(&self, roots: &[PathBuf]) {
        let mut st = self.lock();
        st.roots = roots.to_vec();
        st.refresh_configs();
        for root in roots {
            for path in plumb_files(root) {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    st.file(&path, text, Origin::Disk);
                }
            }
        }
    }
}

/// The local path of a `file:` URI.
fn path_of(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}

impl State {
    /// Reads the `plumb.toml` files of every workspace folder: each governs the files
    /// below its own folder (a monorepo has one per project), the nearest one winning.
    fn refresh_configs(&mut self) {
        let mut tomls = std::collections::BTreeSet::new();
        for root in &self.roots {
            tomls.extend(plumb_config::find_config_file(root));
            tomls.extend(files_below(root, |name| name == "plumb.toml"));
        }
        let scopes = tomls
            .into_iter()
            .filter_map(|toml| {
                let config = read_config(&toml)?;
                let folder = toml.parent()?.to_path_buf();
                Some(plumb_db::ConfigScope { folder, config })
            })
            .collect();
        let ws = self.ws;
        plumb_db::set_scopes(&mut self.db, ws, scopes);
    }
}

/// A valid `plumb.toml` the command line would read (a regular file of the repository,
/// see `plumb_config::config_file_problem`), or nothing: an invalid or refused one is
/// reported by `plumb check`. Read up to 16 MiB, the command line's limit, so that a
/// FIFO cannot block the server nor a device run it out of memory.
fn read_config(path: &Path) -> Option<Config> {
    use std::io::Read;
    if plumb_config::config_file_problem(path).is_some() {
        return None;
    }
    let mut text = String::new();
    (std::fs::File::open(path).ok()?)
        .take(16 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Config::parse(&text, |code| {
        plumb_checks::lookup(code).is_some_and(|m| m.code == code)
    })
    .ok()
}

/// A GitLab CI file the editor opened: `.gitlab-ci.yml`, `*.gitlab-ci.yml`, or a YAML
/// file under a `.gitlab/` folder (where included CI files live). Other YAML (a
/// Kubernetes manifest, a compose file) is not read as GitLab CI, whatever the client
/// sends.
fn is_gitlab_ci(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    name.ends_with(".gitlab-ci.yml")
        || name.ends_with(".gitlab-ci.yaml")
        || (yaml && path.components().any(|c| c.as_os_str() == ".gitlab"))
}

/// Every `*.plumb` file below a folder (hidden folders, `target` and `node_modules` aside).
fn plumb_files(root: &Path) -> Vec<PathBuf> {
    files_below(root, |name| name.ends_with(".plumb"))
}

/// The files below a folder whose name passes `wanted` (hidden folders, `target` and
/// `node_modules` aside; at most 100,000).
fn files_below(root: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // a link to a folder is not followed: two links to `.` would make the walk
            // exponential
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    dirs.push(path);
                }
            } else if wanted(&name) && out.len() < 100_000 {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into(), "[".into(), ",".into(), "(".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: features::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        ..Default::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty() {
            if let Some(p) = params.root_uri.as_ref().and_then(|u| u.to_file_path()) {
                roots.push(p.into_owned());
            }
        }
        self.load_workspace(&roots);
        Ok(InitializeResult {
            capabilities: capabilities(),
            server_info: Some(ServerInfo {
                name: "plumb".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.publish(None).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let i = {
            let mut st = self.lock();
            st.generation += 1;
            let text = params.text_document.text;
            let i = if is_gitlab_ci(&path) {
                st.yaml_file(&path, text, Origin::OpenBuffer)
            } else {
                st.file(&path, text, Origin::OpenBuffer)
            };
            st.files[i].version = Some(params.text_document.version);
            i
        };
        self.publish(Some(i)).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let i = {
            let mut st = self.lock();
            let Some(&i) = st.by_path.get(&path) else {
                return;
            };
            let mut text = st.files[i].file.text(&st.db).clone();
            for change in &params.content_changes {
                convert::apply_change(&mut text, change.range, &change.text);
            }
            st.generation += 1;
            if matches!(st.files[i].kind, Kind::Yaml(_)) {
                st.yaml_file(&path, text, Origin::OpenBuffer);
            } else {
                st.file(&path, text, Origin::OpenBuffer);
            }
            st.files[i].version = Some(params.text_document.version);
            i
        };
        self.publish(Some(i)).await;
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {}

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let i = {
            let mut st = self.lock();
            let Some(&i) = st.by_path.get(&path) else {
                return;
            };
            st.files[i].version = None;
            // the file on disk is what counts again
            if let Ok(text) = std::fs::read_to_string(&path) {
                st.generation += 1;
                if matches!(st.files[i].kind, Kind::Yaml(_)) {
                    st.yaml_file(&path, text, Origin::Disk);
                } else {
                    st.file(&path, text, Origin::Disk);
                }
            }
            i
        };
        self.publish(Some(i)).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        {
            let mut st = self.lock();
            for change in params.changes {
                let Some(path) = path_of(&change.uri) else {
                    continue;
                };
                if path.file_name().is_some_and(|n| n == "plumb.toml") {
                    st.generation += 1;
                    st.refresh_configs();
                    continue;
                }
                let open = st
                    .by_path
                    .get(&path)
                    .is_some_and(|&i| st.files[i].version.is_some());
                if open || !path.to_string_lossy().ends_with(".plumb") {
                    continue;
                }
                st.generation += 1;
                if change.typ == FileChangeType::DELETED {
                    // kept as an empty file (file ids are indexes): it defines nothing,
                    // so its importers report the names they took from it as unknown,
                    // and its own diagnostics are cleared
                    if st.by_path.contains_key(&path) {
                        st.file(&path, String::new(), Origin::Disk);
                    }
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    st.file(&path, text, Origin::Disk);
                }
            }
        }
        self.publish(None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let hover = self
            .read_file(&p.text_document.uri, "hover", move |s, id| {
                features::hover(s, id, p.position)
            })
            .await?;
        Ok(hover.flatten())
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let loc = self
            .read_file(&p.text_document.uri, "definition", move |s, id| {
                features::definition(s, id, p.position)
            })
            .await?;
        Ok(loc.flatten().map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let include = params.context.include_declaration;
        self.read_file(&p.text_document.uri, "references", move |s, id| {
            features::references(s, id, p.position, include)
        })
        .await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let range = self
            .read_file(&params.text_document.uri, "prepare rename", move |s, id| {
                features::prepare_rename(s, id, params.position)
            })
            .await?;
        Ok(range.flatten().map(PrepareRenameResponse::Range))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let name = params.new_name;
        let edit = self
            .read_file(&p.text_document.uri, "rename", move |s, id| {
                features::rename(s, id, p.position, &name)
            })
            .await?;
        match edit {
            None => Ok(None),
            Some(Ok(edit)) => Ok(edit),
            Some(Err(message)) => Err(Error::invalid_params(message)),
        }
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let items = self
            .read_file(&p.text_document.uri, "completion", move |s, id| {
                completion::completion(s, id, p.position)
            })
            .await?;
        Ok(items.map(CompletionResponse::Array))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let symbols = self
            .read_file(
                &params.text_document.uri,
                "document symbols",
                features::document_symbols,
            )
            .await?;
        Ok(symbols.map(DocumentSymbolResponse::Nested))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let edits = self
            .read_file(
                &params.text_document.uri,
                "formatting",
                features::formatting,
            )
            .await?;
        Ok(edits.flatten())
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let range = params.range;
        self.read_file(&params.text_document.uri, "code actions", move |s, id| {
            features::code_actions(s, id, range)
        })
        .await
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let data = self
            .read_file(
                &params.text_document.uri,
                "semantic tokens",
                features::semantic_tokens,
            )
            .await?;
        Ok(data.map(|data| {
            SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data,
            })
        }))
    }
}
