//! A shell-aware scan of job scripts: enough of POSIX sh to know, for each simple
//! command, its words, the variables each word expands, its redirections, here-docs
//! and here-strings, and whether it reads from or writes to a pipe.
//!
//! Control flow is read as a flat sequence of simple commands, which is what the
//! credential checks need: list operators (`;`, `&&`, `||`, `|`, `&`), subshells and
//! groups split commands, and the reserved words that open or continue a compound
//! command (`if`, `then`, `do`, `else`, `{`, `!`, …) are skipped before a command's
//! name, so `if true; then echo $T; fi` is the simple command `echo $T`. The
//! redirections after a compound command's end (`{ …; } > f`, `( … ) > f`, `done > f`,
//! `fi > f`) are given to each command in it, ahead of the command's own.

/// A `$NAME` or `${NAME…}` expansion, with its byte range in the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    pub start: usize,
    pub end: usize,
    /// `${!NAME}`: reads the variable whose name `NAME` holds, which cannot be followed.
    pub indirect: bool,
    /// Inside a command substitution (`$(cat "$F")`, `` `…` ``): what the command does
    /// with the value, not the value itself, is what the word holds.
    pub substituted: bool,
    /// The first word of the innermost command substitution it is in (`cat`, `<`,
    /// `realpath`): what is done with the value.
    pub reader: Option<String>,
    /// The command substitution of its word that holds it (where its `$(` or backtick
    /// is written): whether the value reaches the word depends on what its commands
    /// output (`$(curl -u "$T" x)` outputs a response, `$(echo "$T")` the secret).
    pub within: Option<usize>,
}

/// Commands that, given a file's path, print something about the path or the file but
/// not its content: `$(realpath "$F")` is a path, `$(wc -c < "$F")` a number.
pub const PATH_READERS: &[&str] = &[
    "realpath",
    "readlink",
    "basename",
    "dirname",
    "echo",
    "printf",
    "wc",
    "sha256sum",
    "sha1sum",
    "sha512sum",
    "md5sum",
    "cksum",
    "stat",
    "ls",
    "du",
    "file",
    "test",
    "[",
];

impl VarRef {
    /// An expansion written at `start..end` in the script itself (not in a substitution).
    fn written(name: String, start: usize, end: usize, indirect: bool) -> VarRef {
        VarRef {
            name,
            start,
            end,
            indirect,
            substituted: false,
            reader: None,
            within: None,
        }
    }

    /// In a command substitution whose command prints the content of a file it is
    /// given (anything but [`PATH_READERS`]: an unknown command may).
    pub fn substitution_reads_content(&self) -> bool {
        self.substituted
            && !self
                .reader
                .as_deref()
                .is_some_and(|r| PATH_READERS.contains(&r.rsplit('/').next().unwrap_or(r)))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed and expansions left as written.
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub vars: Vec<VarRef>,
    /// Whether any part was quoted (`'…'` or `"…"`).
    pub quoted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    /// `>`, `>>`, `&>`, `2>`, …: writes to a file.
    Write,
    /// `<`: reads a file.
    Read,
    /// `>&2`, `2>&1`: duplicates a descriptor.
    Dup,
    /// `> /dev/null`: output is thrown away.
    Discard,
}

/// Where a command's standard output goes ([`Command::stdout_goes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The job log (the terminal, `/dev/stderr`, `>&2`).
    Log,
    /// `/dev/null`, or a closed descriptor.
    Discarded,
    /// The file of the command's redirection at this index.
    File(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirectKind,
    /// The descriptor written (1 for `>`, 2 for `2>`), `None` for `&>` (both).
    pub fd: Option<u32>,
    pub target: Word,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// `NAME=value` words before the command name.
    pub assignments: Vec<(String, Word)>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// The body of a here-doc fed to the command (only its expansions matter).
    pub heredoc_vars: Vec<VarRef>,
    /// The here-doc's text as written, for a shell that will run it (`sh <<'EOF'`).
    pub heredoc_text: String,
    /// `<<< word`
    pub here_string: Option<Word>,
    pub piped_in: bool,
    pub piped_out: bool,
    /// The files `>` (not `>>`) empties before the command writes them.
    pub truncated: Vec<String>,
    /// Inside a process substitution (`cmd <(printf '%s' "$T")`, `tee >(sha256sum)`).
    pub substitution: Option<Substitution>,
    /// How many `( … )` subshells the command is in (a `cd` there ends with them).
    pub subshell: usize,
    /// Where the innermost of them opens (its `(`): two subshells one after the other
    /// at the same depth are two shells.
    pub subshell_at: usize,
}

/// The process substitution a command is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Substitution {
    /// Where it is written: the start of the word the outer command gets for it.
    pub at: usize,
    /// `<(…)`: its output goes to the command that reads it (`>(…)`: it reads the
    /// command's output, and its own goes where its commands send it).
    pub input: bool,
    /// A command substitution (`$(…)`, `` `…` ``): its output is the word's text, which
    /// the word's own expansions already stand for; its commands still run (their
    /// arguments show in process listings, what they send to standard error is logged).
    pub command: bool,
}

impl Command {
    /// The command name, after the reserved words that open or continue a compound
    /// command and after wrappers such as `sudo`, `command`, `exec` and `time`.
    pub fn name_index(&self) -> Option<usize> {
        let mut i = 0;
        while let Some(w) = self.words.get(i) {
            let reserved = !w.quoted && RESERVED_PREFIXES.contains(&w.text.as_str());
            // `then X=1 cmd`: an assignment after a reserved word belongs to the command
            let assignment = i > 0
                && w.text
                    .split_once('=')
                    .is_some_and(|(name, _)| is_name(name) && w.text.starts_with(name));
            // `/usr/bin/env` is `env`
            match w.text.rsplit('/').next().unwrap_or_default() {
                _ if reserved || assignment => i += 1,
                "command" | "exec" | "time" | "nohup" | "builtin" => i += 1,
                wrapper @ ("sudo" | "doas" | "env" | "timeout" | "nice" | "ionice" | "stdbuf"
                | "setsid" | "chroot" | "gosu" | "su-exec" | "busybox")
                    if !w.quoted =>
                {
                    let runs = self.after_wrapper(wrapper, i + 1);
                    // a wrapper that runs nothing is the command (`env` alone prints
                    // the environment)
                    if runs >= self.words.len() {
                        return Some(i);
                    }
                    i = runs;
                }
                _ => return Some(i),
            }
        }
        None
    }

    /// The index of the command a wrapper runs (`sudo -E -u root bash`, `env A=1 sh`,
    /// `timeout -s KILL 60 sh`, `nice -n 5 sh`, `gosu app sh`, `chroot /srv sh`,
    /// `busybox sh`): past the wrapper's options, the arguments those options take,
    /// `env`'s assignments, `timeout`'s duration, and the user or root folder of `gosu`,
    /// `su-exec` and `chroot`.
    fn after_wrapper(&self, wrapper: &str, mut i: usize) -> usize {
        let takes_argument: &[&str] = match wrapper {
            "sudo" | "doas" => &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"],
            "env" => &["-u", "-C", "-S"],
            "timeout" => &["-s", "-k"],
            "nice" | "ionice" => &["-n", "-c"],
            "stdbuf" => &["-i", "-o", "-e"],
            "chroot" => &["--userspec", "--groups"],
            _ => &[],
        };
        // one operand before the command: a duration, a user, a root folder
        let mut duration_left = matches!(wrapper, "timeout" | "chroot" | "gosu" | "su-exec");
        while let Some(w) = self.words.get(i) {
            let t = w.text.as_str();
            if t == "--" {
                // `timeout -- 60 sh`, `chroot -- /srv sh`: the operand still comes first
                return i + 1 + usize::from(duration_left);
            } else if t.starts_with('-') && t.len() > 1 {
                i += if takes_argument.contains(&t) { 2 } else { 1 };
            } else if wrapper == "env" && t.split_once('=').is_some_and(|(n, _)| is_name(n)) {
                i += 1;
            } else if duration_left {
                duration_left = false;
                i += 1;
            } else {
                return i;
            }
        }
        i
    }
    /// The word that names the command.
    pub fn name_word(&self) -> Option<&Word> {
        self.name_index().map(|i| &self.words[i])
    }
    /// The expansions of what the command reads on standard input from the script
    /// itself: its here-string and its (unquoted) here-doc.
    pub fn stdin_vars(&self) -> impl Iterator<Item = &VarRef> + Clone {
        self.here_string
            .iter()
            .flat_map(|w| w.vars.iter())
            .chain(self.heredoc_vars.iter())
    }
    pub fn name(&self) -> Option<&str> {
        self.name_index().map(|i| self.words[i].text.as_str())
    }
    pub fn args(&self) -> &[Word] {
        match self.name_index() {
            Some(i) => &self.words[i + 1..],
            None => &[],
        }
    }
    /// Whether standard output goes to a file or a pipe rather than the job log.
    pub fn stdout_captured(&self) -> bool {
        self.piped_out || self.output_substituted() || self.stdout_goes() != Output::Log
    }
    /// Where standard output ends up after the redirections, applied left to right as the
    /// shell does (`> /dev/null 1>&2` writes to the log: the last one decides).
    pub fn stdout_goes(&self) -> Output {
        self.outputs().0
    }
    /// Where the command's standard error goes.
    pub fn stderr_goes(&self) -> Output {
        self.outputs().1
    }
    /// Where standard output and standard error go, after the redirections in order.
    fn outputs(&self) -> (Output, Output) {
        let (mut out, mut err) = (Output::Log, Output::Log);
        for (i, r) in self.redirects.iter().enumerate() {
            let to = match r.kind {
                RedirectKind::Read => continue,
                RedirectKind::Write => Output::File(i),
                RedirectKind::Discard => Output::Discarded,
                RedirectKind::Dup => match r.target.text.as_str() {
                    "1" => out,
                    "2" => err,
                    "-" => Output::Discarded,
                    // a log device, or a descriptor opened elsewhere (`exec 3>&1`)
                    _ => Output::Log,
                },
            };
            match r.fd {
                Some(1) => out = to,
                Some(2) => err = to,
                None => (out, err) = (to, to),
                Some(_) => {}
            }
        }
        (out, err)
    }
    /// In `<(…)` with its standard output left there (not sent on to `>&2`).
    pub fn output_substituted(&self) -> bool {
        self.substitution.is_some_and(|s| s.input)
            && !self
                .redirects
                .iter()
                .any(|r| r.kind == RedirectKind::Dup && r.fd == Some(1))
    }
    /// `NAME=value` before the command, and the `NAME=value` arguments of `export`,
    /// `local`, `declare`, `readonly` and `typeset`: (name, the whole word).
    pub fn assigned_words(&self) -> Vec<(&str, &Word)> {
        let mut out: Vec<(&str, &Word)> = self
            .assignments
            .iter()
            .map(|(n, w)| (n.as_str(), w))
            .collect();
        if matches!(
            self.name(),
            Some("export" | "local" | "declare" | "readonly" | "typeset")
        ) {
            for w in self.args() {
                if let Some(name) = assignment_name(&w.text) {
                    out.push((name, w));
                }
            }
        }
        out
    }
    /// [`Command::assigned_words`], and the variables `env` or `sudo` set for the
    /// program they run (`env TOKEN=x ./deploy`, `sudo -E TOKEN=x ./deploy`).
    pub fn environment_words(&self) -> Vec<(&str, &Word)> {
        let mut out = self.assigned_words();
        // the words before the program: wrappers, their options and assignments
        let program = self.name_index().unwrap_or(self.words.len());
        for w in &self.words[..program] {
            let known = out.iter().any(|(_, o)| o.start == w.start);
            if let Some(name) = assignment_name(&w.text).filter(|_| !known) {
                out.push((name, w));
            }
        }
        out
    }
    pub fn files_written(&self) -> impl Iterator<Item = &Word> {
        let file = match self.stdout_goes() {
            Output::File(i) => self.redirects.get(i),
            _ => None,
        };
        file.map(|r| &r.target).into_iter()
    }
    /// The files the command reads on standard input (`< FILE`).
    pub fn redirects_read(&self) -> impl Iterator<Item = &Word> {
        self.redirects
            .iter()
            .filter(|r| r.kind == RedirectKind::Read)
            .map(|r| &r.target)
    }
}

/// Splits a script into simple commands.
pub fn scan(script: &str) -> Vec<Command> {
    let mut commands = Scanner::new(script, 0, 0).run();
    apply_compound_redirects(&mut commands);
    commands
}

/// `{ …; } > f`, `if …; fi > f`, `for …; done > f`, `while …; done < f`: the
/// redirections written after a compound command's end apply to each command in it.
fn apply_compound_redirects(commands: &mut Vec<Command>) {
    // (where the compound command starts, the word that closes it)
    let mut open: Vec<(usize, &'static str)> = Vec::new();
    // a closing word alone that pipes the group on (`{ …; } | cmd`): its commands write
    // to the pipe, and it goes, so that they are followed by what reads it
    let mut closers_piped: Vec<usize> = Vec::new();
    for i in 0..commands.len() {
        if commands[i].substitution.is_some() {
            continue;
        }
        let mut closed = None;
        // still among the reserved words that start the command
        let mut front = true;
        for w in commands[i].words.iter().filter(|w| !w.quoted) {
            match w.text.as_str() {
                // `function f {`, `f() {`: a brace word opens wherever it stands
                "{" => open.push((i, "}")),
                "if" if front => open.push((i, "fi")),
                "case" if front => open.push((i, "esac")),
                "while" | "until" | "for" | "select" if front => open.push((i, "done")),
                // a closing word closes the compound command it ends, never another
                closer @ ("}" | "fi" | "done" | "esac")
                    if front && open.last().is_some_and(|(_, c)| *c == closer) =>
                {
                    closed = open.pop().map(|(start, _)| start);
                }
                _ => {}
            }
            front = front && is_compound_word(&w.text);
        }
        let only_closers = commands[i].words.iter().all(|w| is_compound_word(&w.text));
        if let Some(start) = closed.filter(|_| only_closers) {
            let redirects = commands[i].redirects.clone();
            apply_redirects_to(&mut commands[start..i], &redirects);
            if commands[i].piped_out && redirects.is_empty() {
                pipe_on(&mut commands[start..i]);
                closers_piped.push(i);
            }
        }
    }
    for i in closers_piped.into_iter().rev() {
        commands.remove(i);
    }
}

/// How many redirections a command may hold before those of the compound commands
/// around it are no longer added.
const MAX_INHERITED_REDIRECTS: usize = 8;

/// The commands of a compound command piped on: each writes to the pipe.
fn pipe_on(commands: &mut [Command]) {
    for c in commands.iter_mut().filter(|c| c.substitution.is_none()) {
        c.piped_out = true;
    }
}

fn is_compound_word(word: &str) -> bool {
    RESERVED_PREFIXES.contains(&word)
}

/// The redirections of a compound command, applied to the commands in it before their
/// own (which win, as in the shell: `{ echo a > x; echo b; } > f` writes `a` to `x`); a
/// process substitution's commands keep theirs (they write to the command that reads).
fn apply_redirects_to(commands: &mut [Command], redirects: &[Redirect]) {
    if redirects.is_empty() {
        return;
    }
    // a command already under many (groups nested thousands deep) keeps what it has:
    // the innermost decide where its output goes, and the work stays linear
    for c in commands.iter_mut().filter(|c| c.substitution.is_none()) {
        if c.redirects.len() < MAX_INHERITED_REDIRECTS {
            c.redirects.splice(0..0, redirects.iter().cloned());
        }
    }
}

struct Scanner<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// How many process substitutions this scan is inside (bounded: a hostile script
    /// of nested `<(` would otherwise recurse without end).
    nesting: usize,
    /// The commands of the command substitutions read since the last command was
    /// finished: they run before it.
    captured: Vec<Command>,
    /// Reading an array assignment's elements: an element that looks like one more
    /// (`a=(b=(…))`) is text, never a nested read (no recursion on hostile input).
    in_array: bool,
    /// Where each subshell open here starts in the commands read (`( echo a ) > f`).
    subshells: Vec<usize>,
    /// Where each of them opens in the text.
    subshell_opens: Vec<usize>,
    /// The subshell just closed: redirections before the next separator are its.
    closed_subshell: Option<usize>,
}

/// Process and command substitutions nested deeper than this are not scanned for
/// commands (process substitutions are read as plain redirections).
const MAX_SUBSTITUTION_NESTING: usize = 8;

/// A here-doc announced on a line: (the index of the command it feeds, its delimiter,
/// whether it expands, whether tabs are stripped).
type PendingHeredoc = (usize, String, bool, bool);

impl<'a> Scanner<'a> {
    fn new(src: &'a str, pos: usize, nesting: usize) -> Scanner<'a> {
        Scanner {
            src,
            b: src.as_bytes(),
            pos,
            nesting,
            captured: Vec::new(),
            in_array: false,
            subshells: Vec::new(),
            subshell_opens: Vec::new(),
            closed_subshell: None,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn at(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s)
    }

    fn run(mut self) -> Vec<Command> {
        let mut out = Vec::new();
        let mut cmd = Command::default();
        let mut pending_heredocs: Vec<PendingHeredoc> = Vec::new();
        let mut piped_in = false;
        // after `|`, `&&` or `||` the command goes on past line breaks (`curl … |⏎ sh`)
        let mut continues = false;
        loop {
            self.take_captured(&mut out, &mut pending_heredocs);
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if matches!(c, b'&' | b'|' | b'(' | b')' | b'<' | b'>')
                && in_conditional(&cmd)
                && self.joins_a_test()
            {
                // `[[ -n $A && -n $B ]]`: a test's operators, not a list or redirection
                self.pos += if self.at("&&") || self.at("||") { 2 } else { 1 };
                continue;
            }
            match c {
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'\n' if continues && is_empty(&cmd) => {
                    self.pos += 1;
                    // a here-doc of the command before the operator is read first
                    // (`cat <<EOF |⏎ body⏎ EOF⏎ sh`)
                    self.read_heredocs(&mut out, &mut pending_heredocs);
                }
                b'\n' | b';' | b'&' | b'|' | b'(' | b')' => {
                    continues = matches!(c, b'|') || self.at("&&");
                    // `|&` pipes standard error too
                    let piped = c == b'|' && !self.at("||");
                    let is_newline = c == b'\n';
                    let len = if self.at("&&") || self.at("||") || self.at(";;") || self.at("|&") {
                        2
                    } else {
                        1
                    };
                    // `… | (cat)`: the subshell's first command reads the pipe
                    let opens_subshell =
                        c == b'(' && cmd.words.is_empty() && cmd.assignments.is_empty();
                    if c == b'&' && self.at("&>") {
                        self.redirect(&mut cmd);
                        continue;
                    }
                    self.pos += len;
                    cmd.piped_in = piped_in;
                    cmd.piped_out = piped;
                    self.finish_after_subshell(&mut out, &mut cmd);
                    if opens_subshell {
                        self.subshells.push(out.len());
                        self.subshell_opens.push(self.pos - len);
                    } else if c == b')' {
                        self.closed_subshell = self.subshells.pop();
                        self.subshell_opens.pop();
                    }
                    piped_in = piped || (opens_subshell && piped_in);
                    if is_newline {
                        self.read_heredocs(&mut out, &mut pending_heredocs);
                    }
                }
                b'<' if self.at("<<<") => {
                    self.pos += 3;
                    self.skip_blanks();
                    cmd.here_string = Some(self.word());
                }
                b'<' if self.at("<<") => {
                    self.pos += 2;
                    let strip = self.peek() == Some(b'-');
                    if strip {
                        self.pos += 1;
                    }
                    self.skip_blanks();
                    let delim = self.word();
                    // `<<'EOF'`, `<<"EOF"`, `<<\EOF`: any quoting keeps the body as written
                    let escaped =
                        (self.src.get(delim.start..delim.end)).is_some_and(|t| t.contains('\\'));
                    let expands = !delim.quoted && !escaped;
                    // the command this here-doc feeds is the one being built now
                    pending_heredocs.push((out.len(), delim.text.clone(), expands, strip));
                }
                b'>' | b'<'
                    if self.b.get(self.pos + 1) == Some(&b'(')
                        && self.nesting < MAX_SUBSTITUTION_NESTING =>
                {
                    let before = out.len();
                    self.process_substitution(&mut cmd, &mut out);
                    // the command being built is pushed after the substitution's: a
                    // here-doc it is waiting for moves with it
                    let added = out.len() - before;
                    for pending in pending_heredocs.iter_mut().filter(|h| h.0 >= before) {
                        pending.0 += added;
                    }
                }
                b'>' | b'<' => self.redirect(&mut cmd),
                b'0'..=b'9' if self.fd_redirect_ahead() => self.redirect(&mut cmd),
                _ => {
                    let w = self.word();
                    if w.start == w.end {
                        self.pos += 1; // an unexpected byte: skip it
                        continue;
                    }
                    if let Some(name) = assignment_name(&w.text).filter(|_| cmd.words.is_empty()) {
                        let name = name.to_string();
                        cmd.assignments.push((name, w));
                    } else {
                        cmd.words.push(w);
                    }
                }
            }
        }
        self.take_captured(&mut out, &mut pending_heredocs);
        cmd.piped_in = piped_in;
        self.finish_after_subshell(&mut out, &mut cmd);
        out
    }

    /// Reads the bodies of the here-docs waiting for the line break just passed.
    fn read_heredocs(&mut self, out: &mut [Command], pending: &mut Vec<PendingHeredoc>) {
        for (idx, delim, expands, strip) in std::mem::take(pending) {
            let body_start = self.pos;
            let vars = self.heredoc_body(&delim, expands, strip);
            if let Some(target) = out.get_mut(idx) {
                target.heredoc_vars.extend(vars);
                target
                    .heredoc_text
                    .push_str(&self.src[body_start..self.pos]);
            }
        }
    }

    /// Finishes the command; one that is only redirections right after a subshell's
    /// `)` is the subshell's (`( echo "$T" ) > f`): they apply to its commands.
    fn finish_after_subshell(&mut self, out: &mut Vec<Command>, cmd: &mut Command) {
        let closed = self.closed_subshell.take();
        let only_redirects = cmd.words.is_empty() && cmd.assignments.is_empty();
        match closed {
            Some(start) if only_redirects && start <= out.len() => {
                apply_redirects_to(&mut out[start..], &cmd.redirects);
                // `( … ) | cmd`
                if cmd.piped_out && cmd.redirects.is_empty() {
                    pipe_on(&mut out[start..]);
                }
                *cmd = Command::default();
            }
            _ => {
                cmd.subshell = self.subshells.len();
                cmd.subshell_at = self.subshell_opens.last().copied().unwrap_or(0);
                finish(out, cmd);
            }
        }
    }

    /// Moves the commands of the command substitutions just read into `out`, before the
    /// command they are written in; a here-doc that command waits for moves with it.
    fn take_captured(&mut self, out: &mut Vec<Command>, pending: &mut [PendingHeredoc]) {
        if self.captured.is_empty() {
            return;
        }
        let before = out.len();
        out.append(&mut self.captured);
        let added = out.len() - before;
        for heredoc in pending.iter_mut().filter(|h| h.0 >= before) {
            heredoc.0 += added;
        }
    }

    /// `<(list)` or `>(list)`: the command gets a file name for it (as the shell's
    /// `/dev/fd/63`), and the list's commands are scanned on their own: an input
    /// substitution's output goes to the command, an output substitution's (`exec >
    /// >(tee log)`) to wherever its own commands send it.
    fn process_substitution(&mut self, cmd: &mut Command, out: &mut Vec<Command>) {
        let input = self.peek() == Some(b'<');
        let start = self.pos;
        let open = self.pos + 1;
        let Some(close) = matching_paren(self.b, open) else {
            // never closed: the shell refuses the line; read it as a redirection, and
            // the `<(` after it too (each would search to the end again)
            self.nesting = MAX_SUBSTITUTION_NESTING;
            self.redirect(cmd);
            return;
        };
        let word = Word {
            text: "/dev/fd/63".to_string(),
            start,
            end: close + 1,
            ..Word::default()
        };
        // `tee < <(…)`: the file the redirection reads
        match cmd.redirects.last_mut() {
            Some(r) if r.target.text.is_empty() && r.target.end == start => r.target = word,
            _ => cmd.words.push(word),
        }
        let substitution = Substitution {
            at: start,
            input,
            command: false,
        };
        out.extend(self.scan_inner(open + 1..close, substitution));
        self.pos = close + 1;
    }

    /// The commands of the substitution whose text is `text`, scanned on their own one
    /// level deeper, each marked as in it (or in an inner one).
    fn scan_inner(&self, text: std::ops::Range<usize>, substitution: Substitution) -> Vec<Command> {
        let inner = Scanner::new(&self.src[..text.end], text.start, self.nesting + 1).run();
        inner
            .into_iter()
            .map(|c| Command {
                substitution: c.substitution.or(Some(substitution)),
                ..c
            })
            .collect()
    }

    /// Inside `[[ … ]]`: whether the operator here joins two tests. `&&` and `||` do
    /// only before a test (`-n $B`, `! …`, `$B == x`, `( …`): before a command
    /// (`[[ -n $A || curl -u $T x ]]`) a shell without `[[` (dash, busybox) runs it,
    /// so it is read as one.
    fn joins_a_test(&self) -> bool {
        if !(self.at("&&") || self.at("||")) {
            return true;
        }
        let rest = self.src[self.pos + 2..].trim_start_matches([' ', '\t']);
        let next = rest.trim_start_matches(['"', '\'']);
        next.starts_with(['-', '!', '(', '$']) || next.starts_with("]]")
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'\\') if self.b.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    fn fd_redirect_ahead(&self) -> bool {
        let digits = self.b[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        matches!(self.b.get(self.pos + digits), Some(b'>' | b'<'))
            && (self.pos == 0 || matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\n' | b';'))
    }

    fn redirect(&mut self, cmd: &mut Command) {
        let digits_start = self.pos;
        let appends = self.src[self.pos..]
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with(">>")
            || self.at("&>>");
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let explicit_fd: Option<u32> = self.src[digits_start..self.pos].parse().ok();
        let (kind, fd) = if self.at("&>>") {
            self.pos += 3;
            (RedirectKind::Write, None)
        } else if self.at("&>") {
            self.pos += 2;
            (RedirectKind::Write, None)
        } else if self.at(">&") {
            self.pos += 2;
            (RedirectKind::Dup, Some(explicit_fd.unwrap_or(1)))
        } else if self.at(">>") || self.at(">|") {
            self.pos += 2;
            (RedirectKind::Write, Some(explicit_fd.unwrap_or(1)))
        } else if self.at(">") {
            self.pos += 1;
            (RedirectKind::Write, Some(explicit_fd.unwrap_or(1)))
        } else {
            self.pos += 1; // `<`
            (RedirectKind::Read, Some(explicit_fd.unwrap_or(0)))
        };
        self.skip_blanks();
        let target = self.word();
        let kind = match kind {
            RedirectKind::Write if target.text == "/dev/null" => RedirectKind::Discard,
            // `> /dev/stderr` and the like still reach the job log
            RedirectKind::Write if is_log_device(&target.text) => RedirectKind::Dup,
            kind => kind,
        };
        if kind == RedirectKind::Write && !appends {
            cmd.truncated.push(target.text.clone());
        }
        cmd.redirects.push(Redirect { kind, fd, target });
    }

    /// One shell word: quoted and unquoted parts glued together.
    fn word(&mut self) -> Word {
        let start = self.pos;
        let mut w = Word {
            start,
            ..Word::default()
        };
        while let Some(c) = self.peek() {
            match c {
                // `A=(x "$T")`, `A+=(…)`: an array's elements belong to its assignment
                b'(' if !self.in_array && !w.quoted && array_assignment_head(&w.text) => {
                    self.array_elements(&mut w)
                }
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => {
                    break
                }
                b'\'' => {
                    w.quoted = true;
                    self.pos += 1;
                    let s = self.pos;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.pos += 1;
                    }
                    w.text.push_str(&self.src[s..self.pos]);
                    self.pos = (self.pos + 1).min(self.b.len());
                }
                b'"' => {
                    w.quoted = true;
                    self.pos += 1;
                    while let Some(c) = self.peek() {
                        match c {
                            b'"' => {
                                self.pos += 1;
                                break;
                            }
                            b'\\' => {
                                self.pos += 1;
                                if let Some(ch) = self.src[self.pos..].chars().next() {
                                    w.text.push(ch);
                                    self.pos += ch.len_utf8();
                                }
                            }
                            b'$' => self.dollar(&mut w),
                            b'`' => self.backtick(&mut w),
                            _ => self.push_char(&mut w),
                        }
                    }
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(_) => self.push_char(&mut w),
                        None => {}
                    }
                }
                b'$' => self.dollar(&mut w),
                b'`' => self.backtick(&mut w),
                _ => self.push_char(&mut w),
            }
        }
        w.end = self.pos;
        w
    }

    /// The `( … )` of an array assignment whose `(` is here: its elements' text and
    /// expansions join `w` (elements may span lines).
    fn array_elements(&mut self, w: &mut Word) {
        self.pos += 1;
        w.text.push('(');
        self.in_array = true;
        self.read_elements(w);
        self.in_array = false;
    }

    fn read_elements(&mut self, w: &mut Word) {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.pos += 1;
            }
            match self.peek() {
                None => return,
                Some(b')') => {
                    self.pos += 1;
                    w.text.push(')');
                    return;
                }
                Some(_) => {
                    let element = self.word();
                    if element.start == element.end {
                        self.pos += 1; // `;`, `|`…: not an element; skipped
                        continue;
                    }
                    if !w.text.ends_with('(') {
                        w.text.push(' ');
                    }
                    w.text.push_str(&element.text);
                    w.vars.extend(element.vars);
                }
            }
        }
    }

    fn push_char(&mut self, w: &mut Word) {
        if let Some(ch) = self.src[self.pos..].chars().next() {
            w.text.push(ch);
            self.pos += ch.len_utf8();
        }
    }

    /// `$NAME`, `${NAME…}`, `$(…)`, `$'…'`, or a lone `$`.
    fn dollar(&mut self, w: &mut Word) {
        let start = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut depth = 1;
                let inner_start = self.pos;
                let mut inner_end = self.src.len();
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    match c {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                inner_end = self.pos - 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                // an unterminated `${` runs to the end of the script (never into the
                // middle of a character)
                let inner = &self.src[inner_start..inner_end.max(inner_start)];
                // PowerShell's `${env:NAME}` reads NAME
                let inner = match inner.get(..4) {
                    Some(e) if e.eq_ignore_ascii_case("env:") && is_name(&inner[4..]) => {
                        &inner[4..]
                    }
                    _ => inner,
                };
                // `${#V}` is V's length: it does not print V; `${!V}` reads the variable
                // V names, which cannot be followed
                let indirect = inner.starts_with('!');
                let inner = inner.strip_prefix('!').unwrap_or(inner);
                let name: String = inner
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let operator = &inner[name.len()..];
                // `${!PREFIX*}`, `${!PREFIX@}`: the names of the variables, not values
                let names_only = indirect && matches!(operator, "*" | "@");
                // `${V:+word}` is `word` when V is set, never V's value; `${V//?/*}`
                // replaces every character of it, `${V/*/x}` all of it at once, and
                // `${V##*}`, `${V%%*}` remove all of it (`&` in the new text is the old)
                let masked = (["//?/", "//*/", "/*/"].iter())
                    .find_map(|p| operator.strip_prefix(p))
                    .is_some_and(|with| !with.contains(['&', '$', '`']))
                    || matches!(operator, "##*" | "%%*")
                    || short_substring(operator);
                let alternate = operator.starts_with(":+") || operator.starts_with('+') || masked;
                // `${1}`, `${@}`: positional parameters
                let name = match inner.as_bytes().first() {
                    Some(b'@' | b'*') => inner[..1].to_string(),
                    _ => name,
                };
                let operator = &inner[name.len().min(inner.len())..];
                let positional = !name.is_empty()
                    && name
                        .bytes()
                        .all(|c| c.is_ascii_digit() || c == b'@' || c == b'*');
                if !inner.starts_with('#')
                    && (is_name(&name) || positional)
                    && !alternate
                    && !names_only
                {
                    w.vars
                        .push(VarRef::written(name, start, self.pos, indirect));
                }
                // the word of `${V:-word}`, `${V:+word}`, `${V/a/b}` is expanded too
                for (name, indirect) in names_in(operator) {
                    w.vars
                        .push(VarRef::written(name, start, self.pos, indirect));
                }
            }
            Some(b'(') => {
                // command substitution: its expansions belong to this word
                self.capture_commands(self.pos, start);
                self.command_substitution(w, start);
            }
            Some(b'\'') => {
                self.pos += 1;
                while self.peek().is_some_and(|c| c != b'\'') {
                    self.pos += if self.peek() == Some(b'\\') { 2 } else { 1 };
                }
                self.pos = (self.pos + 1).min(self.b.len());
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let mut s = self.pos;
                self.skip_name();
                // PowerShell's `$env:NAME` (a Windows runner's script) reads NAME
                let powershell = self.src[s..self.pos].eq_ignore_ascii_case("env")
                    && self.at(":")
                    && (self.b.get(self.pos + 1))
                        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
                if powershell {
                    self.pos += 1;
                    s = self.pos;
                    self.skip_name();
                }
                w.vars.push(VarRef::written(
                    self.src[s..self.pos].to_string(),
                    start,
                    self.pos,
                    false,
                ));
            }
            // `$1`, `$@`, `$*`: the positional parameters (`set -- "$T"` sets them)
            Some(c) if c.is_ascii_digit() || c == b'@' || c == b'*' => {
                self.pos += 1;
                w.vars.push(VarRef::written(
                    (c as char).to_string(),
                    start,
                    self.pos,
                    false,
                ));
            }
            Some(c) if b"#?$!-".contains(&c) => self.pos += 1,
            _ => {}
        }
        w.text.push_str(&self.src[start..self.pos]);
    }

    fn skip_name(&mut self) {
        while (self.peek()).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
    }

    /// The rest of a `$(…)` whose `(` is here: its expansions belong to `w`, each marked
    /// with the first word of the innermost substitution it is in. Nested substitutions
    /// are followed without recursion (a script of thousands of nested `$(` is text).
    fn command_substitution(&mut self, w: &mut Word, at: usize) {
        self.pos += 1;
        // per substitution level: its first word, the parentheses open in it, and
        // whether it is inside `"…"` (where `(` and `)` are text, `$` still expands)
        let mut levels = vec![(first_word(&self.src[self.pos..]), 0usize, false)];
        while let Some(c) = self.peek() {
            let quoted = levels.last().is_some_and(|l| l.2);
            match c {
                b'\\' => self.pos += 2,
                b'\'' if !quoted => {
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                b'"' => {
                    self.pos += 1;
                    if let Some(level) = levels.last_mut() {
                        level.2 = !level.2;
                    }
                }
                b'(' | b')' if quoted => self.pos += 1,
                b'(' => {
                    self.pos += 1;
                    if let Some(level) = levels.last_mut() {
                        level.1 += 1;
                    }
                }
                b')' => {
                    self.pos += 1;
                    match levels.last_mut() {
                        Some((_, open, _)) if *open > 0 => *open -= 1,
                        _ => {
                            levels.pop();
                        }
                    }
                    if levels.is_empty() {
                        break;
                    }
                }
                b'$' if self.b.get(self.pos + 1) == Some(&b'(') => {
                    self.pos += 2;
                    levels.push((first_word(&self.src[self.pos..]), 0, false));
                }
                b'$' => {
                    let reader = levels.last().map_or("", |l| l.0.as_str()).to_string();
                    self.substituted_dollar(w, &reader, at);
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.b.len());
    }

    fn backtick(&mut self, w: &mut Word) {
        let at = self.pos;
        self.capture_commands(self.pos, at);
        self.pos += 1;
        let reader = first_word(&self.src[self.pos..]);
        while let Some(c) = self.peek() {
            match c {
                b'`' => {
                    self.pos += 1;
                    return;
                }
                b'$' => self.substituted_dollar(w, &reader, at),
                _ => self.pos += 1,
            }
        }
    }

    /// The commands of the command substitution whose `(` or opening backtick is at
    /// `open` (`at`: where it is written), scanned on their own for [`Scanner::run`] to
    /// put before the command it is in. Not `$((…))`, which is arithmetic.
    fn capture_commands(&mut self, open: usize, at: usize) {
        let arithmetic = self.b[open] == b'(' && self.b.get(open + 1) == Some(&b'(');
        if self.nesting >= MAX_SUBSTITUTION_NESTING || arithmetic {
            return;
        }
        let close = if self.b[open] == b'`' {
            closing_backtick(self.b, open + 1)
        } else {
            matching_paren(self.b, open)
        };
        let Some(close) = close else {
            // never closed: the shell refuses the line; do not search again
            self.nesting = MAX_SUBSTITUTION_NESTING;
            return;
        };
        let substitution = Substitution {
            at,
            input: true,
            command: true,
        };
        let commands = self.scan_inner(open + 1..close, substitution);
        self.captured.extend(commands);
    }

    /// An expansion inside a command substitution whose command is `reader`: it belongs
    /// to the word `w`, marked as substituted (an inner substitution's reader stays).
    /// Its commands were scanned with the substitution's.
    fn substituted_dollar(&mut self, w: &mut Word, reader: &str, within: usize) {
        let mut inner = Word::default();
        let nesting = std::mem::replace(&mut self.nesting, MAX_SUBSTITUTION_NESTING);
        self.dollar(&mut inner);
        self.nesting = nesting;
        w.vars.extend(inner.vars.into_iter().map(|v| VarRef {
            substituted: true,
            reader: v.reader.or_else(|| Some(reader.to_string())),
            within: Some(within),
            ..v
        }));
    }

    /// Reads a here-doc body up to its delimiter line; returns its expansions.
    fn heredoc_body(&mut self, delim: &str, expands: bool, strip_tabs: bool) -> Vec<VarRef> {
        let mut vars = Vec::new();
        while self.pos < self.b.len() {
            let line_start = self.pos;
            let line_end = self.src[self.pos..]
                .find('\n')
                .map_or(self.b.len(), |i| self.pos + i);
            let line = &self.src[line_start..line_end];
            let cmp = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            self.pos = (line_end + 1).min(self.b.len());
            if cmp.trim_end_matches('\r') == delim {
                break;
            }
            if expands {
                vars.extend(self.expansions_in(line_start, line_end));
            }
        }
        vars
    }

    /// Every expansion starting in `start..end` of the source, quoting ignored, with
    /// offsets in the source.
    fn expansions_in(&self, start: usize, end: usize) -> Vec<VarRef> {
        // a here-doc's command substitutions are not scanned for commands
        let mut sub = Scanner::new(self.src, start, MAX_SUBSTITUTION_NESTING);
        let mut vars = Vec::new();
        while sub.pos < end {
            if sub.peek() == Some(b'\\') {
                // `\$X` is the text `$X`, not an expansion
                sub.pos += 2;
            } else if sub.peek() == Some(b'$') {
                let mut w = Word::default();
                sub.dollar(&mut w);
                vars.extend(w.vars);
            } else {
                sub.pos += 1;
            }
        }
        vars
    }
}

/// Reserved words after which a new simple command starts on the same line.
const RESERVED_PREFIXES: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "fi", "done", "esac",
];

/// The variables an operator's word (`${V:-word}`, `${V/pattern/word}`) expands into
/// the value: `$NAME`, `${NAME…}`, `${!NAME…}`, nested or not, in one pass (`${A:-${B:-$C}}`
/// reads `B` and `C`; never recursion, whatever the nesting). A pattern (`${V#pat}`,
/// `${V%pat}`, the first part of `${V/pat/word}`) only takes text away: not read.
fn names_in(operator: &str) -> Vec<(String, bool)> {
    let word = if operator.starts_with(['#', '%']) {
        ""
    } else if let Some(rest) = operator.strip_prefix('/') {
        // `${V/pat/word}`, `${V//pat/word}`: the word after the pattern
        let pattern = rest.strip_prefix(['/', '#', '%']).unwrap_or(rest);
        pattern.split_once('/').map_or("", |(_, word)| word)
    } else {
        operator
    };
    let b = word.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            // a backslash makes the next character plain (`\$T` is text, `\\$T` reads
            // T); `$$` is the process id
            (b'\\', Some(_)) | (b'$', Some(b'$')) => {
                i += 2;
                continue;
            }
            (b'$', _) => {}
            _ => {
                i += 1;
                continue;
            }
        }
        let braced = b.get(i + 1) == Some(&b'{');
        let mut at = i + 1 + usize::from(braced);
        let indirect = b.get(at) == Some(&b'!');
        at += usize::from(indirect);
        let end = at
            + (b[at..].iter())
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
        // `${T:+word}` is the word, never T
        let alternate = braced && (word[end..].starts_with(":+") || word[end..].starts_with('+'));
        if is_name(&word[at..end]) && !alternate {
            out.push((word[at..end].to_string(), indirect));
        }
        i = end.max(i + 1);
    }
    out
}

/// Whether `${V<operator>}` is a few characters of V (`${T: -4}`, `${T:0:4}`: how a
/// log shows which token was used), not its value: at most [`SHOWN_CHARACTERS`].
fn short_substring(operator: &str) -> bool {
    let Some(rest) = operator.strip_prefix(':') else {
        return false;
    };
    // `${V:-word}`, `${V:=word}`, `${V:?word}`, `${V:+word}`: V or a word
    if rest.starts_with(['-', '+', '=', '?']) {
        return false;
    }
    let number = |s: &str| {
        let s = s.trim();
        let s = s
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(s);
        s.trim().parse::<i64>().ok()
    };
    // its first or its last few: pieces from the middle (`${T:4:4}`) would rebuild it
    let shown = SHOWN_CHARACTERS as i64;
    match rest.split(':').collect::<Vec<_>>()[..] {
        [offset] => number(offset).is_some_and(|o| (-shown..0).contains(&o)),
        [offset, length] => {
            number(offset) == Some(0) && number(length).is_some_and(|l| (0..=shown).contains(&l))
        }
        _ => false,
    }
}

/// How many characters of a secret's start or end a log may show (a token's last four)
/// without giving it away: both ends together are eight of a token's twenty or more.
const SHOWN_CHARACTERS: usize = 4;

/// Every `$NAME`, `${NAME…}` and `${!NAME}` in `text`, quoting ignored: what a shell that
/// runs `text` as a script (`eval`, `sh -c`, `trap`, a here-doc fed to `sh`) may expand.
pub fn expansions(text: &str) -> Vec<VarRef> {
    Scanner::new(text, 0, 0).expansions_in(0, text.len())
}

/// What a command substitution's text does with a file: the first of its commands
/// (`cat`, `<` of `$(< "$F")`) that is not one of [`PATH_READERS`], else the first
/// command (`realpath`). Its commands are the words after `;`, `&&`, `||`, `|` and line
/// breaks, read in a window of [`READER_WINDOW`] bytes (a longer one is an unknown reader).
fn first_word(text: &str) -> String {
    let is_path_reader = |h: &str| PATH_READERS.contains(&h.rsplit('/').next().unwrap_or(h));
    let window = &text.as_bytes()[..text.len().min(READER_WINDOW)];
    let mut heads: Vec<String> = Vec::new();
    let mut at_head = true;
    let mut depth = 0usize;
    let mut i = 0;
    while i < window.len() {
        let c = window[i];
        match c {
            b' ' | b'\t' => {}
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            b';' | b'&' | b'|' | b'\n' if depth == 0 => at_head = true,
            _ if at_head && depth == 0 => {
                at_head = false;
                if c == b'<' {
                    heads.push("<".to_string());
                } else {
                    let word: String = text[i..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && !"();|&<>`\"'".contains(*c))
                        .collect();
                    i += word.len().max(1);
                    let reads_content = !is_path_reader(&word);
                    heads.push(word);
                    if reads_content {
                        // the answer: no need to read further
                        break;
                    }
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if i >= READER_WINDOW {
        return String::new();
    }
    heads
        .iter()
        .find(|h| !is_path_reader(h))
        .or(heads.first())
        .cloned()
        .unwrap_or_default()
}

/// How much of a command substitution is read for its commands.
const READER_WINDOW: usize = 4096;

/// The offset of the `)` that closes the `(` at `open`: quotes (`'…'`, `"…"`, `$'…'`),
/// escapes, comments and nested parentheses skipped, without recursion; `None` when
/// nothing closes it.
fn matching_paren(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            // `$'it\'s'`: ANSI-C quoting, where a backslash escapes a quote
            b'\'' if i > 0 && b[i - 1] == b'$' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            // a comment runs to the end of the line, parentheses and all
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n' | b';' | b'(') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset of the backtick that closes a `` `…` `` whose text starts at `from`.
fn closing_backtick(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'`' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether nothing of a command has been read yet.
fn is_empty(cmd: &Command) -> bool {
    cmd.words.is_empty()
        && cmd.assignments.is_empty()
        && cmd.redirects.is_empty()
        && cmd.here_string.is_none()
}

/// Whether `cmd` is a `[[ … ]]` not closed yet, where `&&`, `||`, `<`, `>` and the
/// parentheses compare and group tests.
/// A `[[` after an assignment (`X=1 [[ …`) is no keyword in bash: not a test then.
/// (The last word tells whether it is closed: a word after `]]` is a syntax error.)
fn in_conditional(cmd: &Command) -> bool {
    const BEFORE: &[&str] = &["if", "elif", "while", "until", "!", "then", "do", "else"];
    let mut words = cmd
        .words
        .iter()
        .skip_while(|w| BEFORE.contains(&w.text.as_str()));
    cmd.assignments.is_empty()
        && words.next().is_some_and(|w| w.text == "[[" && !w.quoted)
        && cmd.words.last().is_some_and(|w| w.text != "]]" || w.quoted)
}

fn finish(out: &mut Vec<Command>, cmd: &mut Command) {
    let c = std::mem::take(cmd);
    if !c.words.is_empty()
        || !c.assignments.is_empty()
        || !c.redirects.is_empty()
        || c.here_string.is_some()
    {
        out.push(c);
    }
}

/// Files that are the job log: writing to them prints.
/// Written as the kernel reads it: `//dev/stderr`, `/dev/./stderr` and
/// `/proc/$$/fd/1` (any process's, the shell's own) are the log too.
pub fn is_log_device(path: &str) -> bool {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if !path.starts_with('/') {
        return false;
    }
    matches!(
        parts.as_slice(),
        ["dev", "stdout" | "stderr" | "tty"]
            | ["dev", "fd", "1" | "2"]
            | ["proc", _, "fd", "1" | "2"]
    )
}

/// A reserved word that opens or continues a compound command (`while`, `do`, `done`…).
pub fn is_reserved_prefix(word: &str) -> bool {
    RESERVED_PREFIXES.contains(&word)
}

/// A shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variable `NAME=…`, `NAME+=…`, `NAME[i]=…` assigns.
fn assignment_name(word: &str) -> Option<&str> {
    let (target, _) = word.split_once('=')?;
    let target = target.strip_suffix('+').unwrap_or(target);
    let name = match target.split_once('[') {
        Some((name, subscript)) if subscript.ends_with(']') => name,
        Some(_) => return None,
        None => target,
    };
    is_name(name).then_some(name)
}

/// Whether an assignment adds to what its variable held (`A+=x`, `A[1]=x`) rather than
/// replacing it.
pub fn assignment_keeps_value(word: &str, name: &str) -> bool {
    !word
        .get(name.len()..)
        .is_some_and(|rest| rest.starts_with('='))
}

/// `NAME=` or `NAME+=`, just before the `(` of an array assignment.
fn array_assignment_head(text: &str) -> bool {
    text.strip_suffix('=')
        .map(|t| t.strip_suffix('+').unwrap_or(t))
        .is_some_and(is_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cmds: &[Command]) -> Vec<String> {
        cmds.iter()
            .map(|c| c.name().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn a_conditional_expression_is_one_command() {
        let cmds = scan("[[ -n $A && -n $B || ( $C < $D ) ]] && curl -u \"$T\" x");
        assert_eq!(names(&cmds), ["[[", "curl"]);
        assert_eq!(cmds[0].words.last().map(|w| w.text.as_str()), Some("]]"));
        let cmds = scan("if [[ -n $A && -n $B ]]; then echo; fi");
        assert_eq!(cmds.len(), 3, "{cmds:?}");
        // a command after `||` runs where `[[` is no keyword (dash, busybox ash)
        let cmds = scan("[[ -n \"$X\" || curl -u \"ci:$T\" x ]]");
        assert_eq!(names(&cmds), ["[[", "curl"]);
        let cmds = scan("X=1 [[ -n \"$X\" || echo \"$T\" ]]");
        assert_eq!(names(&cmds), ["[[", "echo"]);
    }

    #[test]
    fn pipes_and_lists() {
        let c = scan("echo \"$PW\" | docker login -u me --password-stdin && make; ls");
        assert_eq!(names(&c), ["echo", "docker", "make", "ls"]);
        assert!(c[0].piped_out && !c[0].piped_in);
        assert!(c[1].piped_in && !c[1].piped_out);
        assert!(!c[2].piped_in);
        assert_eq!(c[0].words[1].vars[0].name, "PW");
    }

    #[test]
    fn a_pipe_or_a_list_goes_on_past_line_breaks() {
        let c = scan("curl -fsSL https://x/i.sh |\n  # then\n\n  sudo bash\nls");
        assert_eq!(names(&c), ["curl", "bash", "ls"]);
        assert!(c[0].piped_out && c[1].piped_in && !c[2].piped_in);
        let c = scan("make &&\n  make install ||\n  echo failed\nls");
        assert_eq!(names(&c), ["make", "make", "echo", "ls"]);
        // the here-doc of the command before the `|` is read after its line
        let c = scan("cat <<EOF |\n$T\nEOF\n  sh\nls");
        assert_eq!(names(&c), ["cat", "sh", "ls"]);
        assert!(c[1].piped_in);
        assert_eq!(c[0].heredoc_vars[0].name, "T");
    }

    #[test]
    fn single_quotes_do_not_expand() {
        let c = scan("echo '$PW' \"${PW}\" $PW ${PW:-x} ${#PW}");
        let vars: Vec<usize> = c[0].words.iter().map(|w| w.vars.len()).collect();
        assert_eq!(vars, [0, 0, 1, 1, 1, 0]);
    }

    #[test]
    fn operator_words_are_expanded() {
        let vars = |text: &str| -> Vec<String> {
            scan(text)[0].words[1]
                .vars
                .iter()
                .map(|v| v.name.clone())
                .collect()
        };
        assert_eq!(vars("echo ${A:-$T}"), ["A", "T"]);
        assert_eq!(vars("echo ${A:-${B:-$T}}"), ["A", "B", "T"]);
        assert_eq!(vars("echo ${T:+set}"), Vec::<String>::new());
        assert_eq!(vars("echo ${T+$U}"), ["U"]);
        assert_eq!(vars("echo ${A:-$$T}"), ["A"]);
        assert_eq!(vars("echo ${A:-\\$$T}"), ["A", "T"]);
        assert_eq!(vars("echo ${A:-\\\\$T}"), ["A", "T"]);
        assert_eq!(vars("echo ${A/zz/\\\\$T}"), ["A", "T"]);
        assert_eq!(vars("echo ${#T}"), Vec::<String>::new());
        // a few characters of it (which token was used), not its value
        for few in ["echo ${T: -4}", "echo ${T:(-4)}", "echo ${T:0:4}"] {
            assert_eq!(vars(few), Vec::<String>::new(), "{few}");
        }
        // pieces from the middle, or longer ones, rebuild it
        for most in [
            "echo ${T:4}",
            "echo ${T: -8}",
            "echo ${T:0:8}",
            "echo ${T:4:4}",
            "echo ${T:-x}",
        ] {
            assert_eq!(vars(most), ["T"], "{most}");
        }
        assert_eq!(vars("echo ${X:-${T:+set}}"), ["X"]);
        // a pattern only takes text away; the replacement is written
        assert_eq!(vars("echo ${OUT//$T/[MASKED]}"), ["OUT"]);
        assert_eq!(vars("echo ${OUT#$T}"), ["OUT"]);
        assert_eq!(vars("echo ${OUT/x/$T}"), ["OUT", "T"]);
    }

    #[test]
    fn a_wrapper_that_runs_nothing_is_the_command() {
        assert_eq!(names(&scan("env")), ["env"]);
        assert_eq!(names(&scan("env -0 | sort")), ["env", "sort"]);
        assert_eq!(names(&scan("env A=1 make")), ["make"]);
        assert_eq!(names(&scan("sudo -E make")), ["make"]);
    }

    #[test]
    fn redirections() {
        let c = scan(
            "echo $T > out/token.txt 2>&1\necho $T >/dev/null\ncat < in.txt\necho hi 2> err.log",
        );
        assert_eq!(
            c[0].files_written()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>(),
            ["out/token.txt"]
        );
        assert!(c[0].stdout_captured());
        assert!(c[1].stdout_captured() && c[1].files_written().next().is_none());
        assert_eq!(c[2].redirects[0].kind, RedirectKind::Read);
        assert!(!c[3].stdout_captured());
    }

    #[test]
    fn line_continuations_join_a_command() {
        let c = scan("curl \\\n  -u user:$TOKEN \\\n  https://x");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].args().len(), 3);
        assert_eq!(c[0].args()[1].vars[0].name, "TOKEN");
    }

    #[test]
    fn a_compound_commands_redirections_apply_to_its_commands() {
        for script in [
            "{ echo machine h; echo \"password $T\"; } > ~/.netrc",
            "( echo a; echo \"$T\" ) > f",
            "for i in 1; do echo \"$T\"; done > f",
            "if true; then echo \"$T\"; fi >> f",
            "while read l; do echo \"$T\"; done < in > f",
            "{ echo \"$T\"; } > /dev/null",
        ] {
            let c = scan(script);
            let echo =
                (c.iter()).find(|c| c.words.iter().any(|w| w.vars.iter().any(|v| v.name == "T")));
            assert!(
                echo.is_some_and(Command::stdout_captured),
                "{script}: {c:#?}"
            );
        }
        // the command's own redirection wins; a group piped on is not a file
        let c = scan("{ echo \"$T\" >&2; } > f");
        assert!(!c[0].stdout_captured(), "{c:#?}");
        let c = scan("{ echo a; }; echo \"$T\"");
        assert!(!c[2].stdout_captured(), "{c:#?}");
        let c = scan("( echo a ); echo \"$T\" > f; echo \"$T\"");
        assert!(
            c.iter().filter(|c| c.stdout_captured()).count() == 1,
            "{c:#?}"
        );
        // a closer closes only what it ends: a loop inside `then` or a function's braces
        // leave the outer loop's commands alone
        for script in [
            "for x in 1; do echo \"$T\"; if true; then for f in d/*; do echo a; done; fi > l; done",
            "for x in 1; do echo \"$T\"; function q { echo a; } > /dev/null; done",
            "case x in x) echo a;; esac > f; echo \"$T\"",
        ] {
            let c = scan(script);
            let reads_t =
                |c: &&Command| c.words.iter().any(|w| w.vars.iter().any(|v| v.name == "T"));
            let echo = c.iter().find(reads_t);
            assert!(
                echo.is_some_and(|e| !e.stdout_captured()),
                "{script}: {c:#?}"
            );
        }
        // nested thousands deep: each command keeps a bounded number
        let deep = format!(
            "{}echo \"$T\"{}",
            "for i in 1; do ".repeat(2000),
            "; done > f".repeat(2000)
        );
        assert!(scan(&deep)
            .iter()
            .all(|c| c.redirects.len() <= MAX_INHERITED_REDIRECTS + 1));
        // piped on: the group's commands write to the pipe, which the next reads
        for script in [
            "{ echo a; echo \"$T\"; } | docker login --password-stdin",
            "( echo \"$T\" ) | docker login --password-stdin",
            "for i in 1; do echo \"$T\"; done | docker login --password-stdin",
        ] {
            let c = scan(script);
            let reads_t =
                |c: &Command| c.words.iter().any(|w| w.vars.iter().any(|v| v.name == "T"));
            let echo = c.iter().position(reads_t);
            let next = echo.and_then(|i| c.get(i + 1));
            assert!(echo.is_some_and(|i| c[i].piped_out), "{script}: {c:#?}");
            assert!(
                next.is_some_and(|n| n.piped_in && n.name() == Some("docker")),
                "{script}: {c:#?}"
            );
        }
    }

    #[test]
    fn powershell_reads_environment_variables_by_name() {
        let c = scan("Write-Host \"Token: $env:DEPLOY_TOKEN\"; echo $Env:API_KEY");
        assert_eq!(c[0].args()[0].vars[0].name, "DEPLOY_TOKEN");
        assert_eq!(c[1].args()[0].vars[0].name, "API_KEY");
        // not a name after the colon: `$env` itself
        assert_eq!(scan("echo $env:")[0].args()[0].vars[0].name, "env");
        let escaped = scan("cat <<\\EOF\necho $T\nEOF\n");
        assert!(escaped[0].heredoc_vars.is_empty());
        let braced = scan("Write-Host \"${env:DEPLOY_TOKEN}\"");
        assert_eq!(braced[0].args()[0].vars[0].name, "DEPLOY_TOKEN");
    }

    #[test]
    fn the_last_redirection_decides_where_output_goes() {
        let goes = |s: &str| scan(s)[0].stdout_goes();
        assert_eq!(goes("echo x"), Output::Log);
        assert_eq!(goes("echo x > /dev/null 1>&2"), Output::Log);
        assert_eq!(goes("echo x 2>/dev/null 1>&2"), Output::Discarded);
        assert_eq!(goes("echo x 2>&1 >/dev/null"), Output::Discarded);
        assert_eq!(goes("echo x >a 2>&1"), Output::File(0));
        assert_eq!(goes("echo x >a >/dev/stderr"), Output::Log);
        assert_eq!(goes("echo x &>a"), Output::File(0));
        assert_eq!(goes("echo x 2>a"), Output::Log);
        assert_eq!(goes("echo x >&-"), Output::Discarded);
        assert!(scan("echo x >a 1>&2")[0].files_written().next().is_none());
    }

    #[test]
    fn here_docs_and_here_strings() {
        let c = scan(
            "cat <<EOF\nuser=$USER\npw=${PW}\nEOF\ncat <<'EOF'\n$PW\nEOF\ncat <<< \"$PW\"\nmake",
        );
        assert_eq!(names(&c), ["cat", "cat", "cat", "make"]);
        let v: Vec<&str> = c[0].heredoc_vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(v, ["USER", "PW"]);
        assert!(c[1].heredoc_vars.is_empty());
        assert_eq!(c[2].here_string.as_ref().unwrap().vars[0].name, "PW");
    }

    #[test]
    fn assignments_and_wrappers() {
        let c = scan("X=$PW FOO=1 sudo deploy --token=$X");
        assert_eq!(c[0].assignments.len(), 2);
        assert_eq!(c[0].name(), Some("deploy"));
        assert_eq!(c[0].args()[0].vars[0].name, "X");
    }

    #[test]
    fn unterminated_expansion_before_a_multibyte_character() {
        // found by the `write` fuzz target: the last byte was cut as if it were `}`
        let c = scan("echo ${CI_JOB_IDyբ");
        assert_eq!(c[0].words[1].vars[0].name, "CI_JOB_IDy");
        let _ = scan("x ${é");
        let _ = scan("${");
    }

    #[test]
    fn command_substitution_and_comments() {
        let c = scan("# echo $PW\nTOKEN=$(cat /run/secret) make # trailing $PW");
        let names: Vec<_> = c.iter().map(|c| c.name().unwrap_or("")).collect();
        assert_eq!(names, ["cat", "make"]);
        assert!(c[1].assignments[0].1.vars.is_empty());
        let c = scan("curl -u \"me:$(cat \"$F\")\" x");
        assert!(c[1].words[2].vars[0].substituted);
    }

    /// The commands of `$(…)` and `` `…` `` run before the command they are in, their
    /// output captured: `X=$(curl -u "$T" x)` passes the secret on curl's command line.
    #[test]
    fn command_substitutions_are_scanned_for_commands() {
        let c = scan("X=$(curl -u \"me:$T\" x | jq .) make \"$(echo `id -u`)\"");
        let names: Vec<_> = c.iter().map(|c| c.name().unwrap_or("")).collect();
        assert_eq!(names, ["curl", "jq", "id", "echo", "make"]);
        let captured = |c: &Command| c.substitution.is_some_and(|s| s.command);
        assert!(c[..4].iter().all(captured) && !captured(&c[4]));
        assert!(c[..4].iter().all(Command::stdout_captured));
        assert!(c[0].piped_out && c[1].piped_in);
        // arithmetic is not a command; a here-doc's command stays the one it feeds
        let c = scan("N=$((1 + 2)) cat <<EOF $(date)\nbody $T\nEOF\necho done");
        let names: Vec<_> = c.iter().map(|c| c.name().unwrap_or("")).collect();
        assert_eq!(names, ["date", "cat", "echo"]);
        assert_eq!(c[1].heredoc_vars[0].name, "T");
    }

    /// A `(` or `)` in quotes inside `$(…)` does not open or close it: what follows is
    /// still read (`X=$(curl "x?q=(")` swallowed the rest of the script).
    #[test]
    fn quoted_parentheses_in_command_substitutions() {
        let c = scan("X=$(curl -s \"https://x/?q=(\" 'a)b') && echo \"$T\"");
        assert_eq!(c.last().and_then(Command::name), Some("echo"));
        assert_eq!(
            c.last().map(|c| c.words[1].vars[0].name.as_str()),
            Some("T")
        );
    }

    /// An unclosed `$(` is read once, and nesting is bounded (each level would scan the
    /// rest again).
    #[test]
    fn command_substitutions_are_bounded() {
        let c = scan(&"x $( ".repeat(200_000));
        assert!(c.len() < 10);
        let deep = "echo $(".repeat(20_000) + &")".repeat(20_000);
        let c = scan(&deep);
        assert!(c.len() <= 10, "{} commands", c.len());
    }

    #[test]
    fn process_substitution_is_read_on_its_own() {
        let c = scan("deploy --token-file <(printf '%s' \"$T\" | base64) --fast && echo done");
        let names: Vec<_> = c.iter().map(|c| c.name().unwrap_or("")).collect();
        assert_eq!(names, ["printf", "base64", "deploy", "echo"]);
        let inside = |c: &Command| c.substitution.is_some_and(|s| s.input);
        assert!(inside(&c[0]) && inside(&c[1]) && !inside(&c[2]));
        assert_eq!(c[2].words[2].text, "/dev/fd/63");
        assert_eq!(c[2].words[3].text, "--fast");
        // `>(…)` feeds its commands from the outer one: what they print is printed
        let c = scan("exec > >(tee -a build.log) 2>&1");
        assert!(c
            .iter()
            .any(|c| c.name() == Some("tee") && !c.output_substituted()));
        // `tee < <(…)` reads the substitution as its redirection's file
        let c = scan("tee < <(echo x) out");
        assert_eq!(c[1].redirects[0].target.text, "/dev/fd/63");
        // `$'…'` quotes a `'`, a comment a `(`: neither is read as code
        let c = scan("deploy <(printf $'it\\'s') ; echo after");
        assert_eq!(c.last().and_then(|c| c.name()), Some("echo"));
        assert!(c.last().is_some_and(|c| c.substitution.is_none()));
        let c = scan("deploy <(true # (\n) ; echo after");
        assert!(c.last().is_some_and(|c| c.substitution.is_none()));
        // what reads a file in `$(…)`
        let c = scan("X=$(realpath \"$F\") Y=$(cat \"$F\") Z=$(< \"$F\") make");
        let readers: Vec<_> = (c.last().expect("make").assignments)
            .iter()
            .map(|(_, w)| w.vars[0].reader.clone())
            .collect();
        assert_eq!(
            readers,
            [
                Some("realpath".into()),
                Some("cat".into()),
                Some("<".into())
            ]
        );
        // a `)` inside quotes does not close it
        let c = scan("diff <(echo ')') x");
        assert_eq!(c[1].words[2].text, "x");
    }

    /// An unclosed `<(` is a redirection, and so is every `<(` after it (each would
    /// search to the end again: 200,000 of them took minutes).
    #[test]
    fn unclosed_process_substitutions_are_read_once() {
        let script = "cat ".to_string() + &"x <( ".repeat(200_000);
        let c = scan(&script);
        assert!(c.iter().all(|c| c.substitution.is_none()));
    }

    #[test]
    fn nested_process_substitutions_are_bounded() {
        let deep = "cat <(".repeat(100_000) + &")".repeat(100_000);
        let c = scan(&deep);
        assert!(
            c.iter().all(|c| c.words.len() < 100),
            "scanned without recursing"
        );
    }
}
