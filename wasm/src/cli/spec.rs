//! `tidemark spec`: the bundled spec, or with `--infer` the spec the files imply, as TOML on
//! standard output (what the inference noticed leads it as comments).

use tidemark_core::spec::infer::infer;

use super::CliError;
use super::args::SpecArgs;
use crate::io::inputs::{self, Reading};

pub(super) fn spec(args: &SpecArgs) -> Result<(), CliError> {
    if args.infer.is_empty() {
        print!("{}", include_str!("../../../core/data/users.toml"));
        return Ok(());
    }
    let files = inputs::data_files(&args.infer, Reading::MapBigFiles)?;
    let inferred = infer(&files, &args.inference.options())?;
    print!("{}", inferred.to_toml());
    Ok(())
}
