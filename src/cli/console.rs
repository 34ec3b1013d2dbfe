//! Printing that never panics. `println!` panics when its stream is closed
//! (`netc check f.net | head -1`); here the rest of the output is dropped
//! instead, so the command ends quietly, as `ls | head` does. (A training run
//! notices a closed stderr itself and stops at an evaluation: `cli::progress`.)

use std::io::Write;

/// Writes to stdout (`false`) or stderr (`true`), ignoring a closed stream.
pub fn write(to_stderr: bool, args: std::fmt::Arguments) {
    let _ = if to_stderr {
        std::io::stderr().lock().write_fmt(args)
    } else {
        let mut out = std::io::stdout().lock();
        out.write_fmt(args).and_then(|()| out.flush())
    };
}

/// `print!` to stdout, without the panic.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::console::write(false, format_args!($($t)*)) };
}
/// `println!` to stdout, without the panic.
macro_rules! outln {
    () => { $crate::cli::console::write(false, format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::console::write(false, format_args!("{}\n", format_args!($($t)*))) };
}
/// `eprintln!`, without the panic.
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::console::write(true, format_args!("{}\n", format_args!($($t)*))) };
}
pub(crate) use {errln, out, outln};
