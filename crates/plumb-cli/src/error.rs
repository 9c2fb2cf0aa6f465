//! The command line's own errors (not problems in the checked program): exit status 2.

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum CliError {
    #[error("cannot read `{path}`: {message}")]
    #[diagnostic(code(plumb::io))]
    Io { path: String, message: String },

    #[error("no `.plumb` files found in {paths}")]
    #[diagnostic(
        code(plumb::no_files),
        help("pass a `.plumb` file or a folder that contains some (`plumb check` also reads `.gitlab-ci.yml` files)")
    )]
    NoFiles { paths: String },

    #[error("`{path}` is {size} bytes, over the limit of {limit} bytes for one source file")]
    #[diagnostic(
        code(plumb::file_too_large),
        help("split the pipelines into several files that import a common one")
    )]
    FileTooLarge { path: String, size: u64, limit: u64 },

    #[error("more than {limit} files to check")]
    #[diagnostic(code(plumb::too_many_files), help("check a smaller folder"))]
    TooManyFiles { limit: usize },

    #[error("invalid configuration: {message}")]
    #[diagnostic(code(plumb::config))]
    Config {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: Option<SourceSpan>,
    },

    #[error("{message}")]
    #[diagnostic(code(plumb::yaml))]
    Yaml {
        /// Names the file.
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: Option<SourceSpan>,
    },

    #[error("unknown code `{code}`")]
    #[diagnostic(code(plumb::unknown_code), help("`plumb rules` lists every code"))]
    UnknownCode { code: String },

    #[error("{0}")]
    #[diagnostic(code(plumb::usage))]
    Usage(String),

    #[error("cannot write output: {0}")]
    #[diagnostic(code(plumb::output))]
    Output(String),
}
