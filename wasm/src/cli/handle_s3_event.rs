//! `tidemark handle-s3-event`: the edge function on the command line. One JSON line per record
//! of the notification on standard output; the exit status says whether every record was
//! processed.

use std::path::Path;

use super::CliError;
use super::args::EventArgs;
use crate::edge::s3_event::{self, Record};
use crate::edge::{self, Config, Flags};
use crate::io::inputs::{self, InputError};

pub(super) fn handle_s3_event(args: EventArgs) -> Result<(), CliError> {
    let json = match args.event.as_deref() {
        None => read_stdin()?,
        Some(p) if p == Path::new("-") => read_stdin()?,
        Some(path) => String::from_utf8_lossy(&inputs::read(path)?.bytes).into_owned(),
    };
    let records = s3_event::parse(&json)?;
    if !args.delta && args.bucket_root.is_none() {
        return Err(CliError::Usage(
            "--bucket-root DIR is needed (objects are read from S3 itself with --delta only)"
                .into(),
        ));
    }
    let config = Config::resolve(Flags {
        bucket_root: args.bucket_root,
        output: args.output,
        source: args.source,
        spec: args.spec,
        format: args.format,
        lookup: args.lookup,
        window_days: args.window_days,
    })?;
    let handler = Handler::new(&config, args.delta, args.buckets)?;
    let mut causes = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let line = match record {
            Record::Test => edge::LogLine {
                record: index,
                event: "s3:TestEvent".into(),
                action: "ignored".into(),
                detail: Some("test event".into()),
                ..Default::default()
            },
            Record::Object(event) => {
                let (line, result) = handler.handle(&config, index, event);
                if let Err(e) = result {
                    causes.push(format!(
                        "  record {index} ({}/{}): {e}",
                        event.bucket, event.key
                    ));
                }
                line
            }
        };
        println!(
            "{}",
            serde_json::to_string(&line).expect("log lines serialise")
        );
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(CliError::Records {
            failed: causes.len(),
            total: records.len(),
            causes: causes.join("\n"),
        })
    }
}

/// The function on folders (`_tidemark/` beside the output) or on Delta tables.
enum Handler {
    Folders,
    #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
    Delta(edge::delta::Target),
}

impl Handler {
    fn new(config: &Config, delta: bool, buckets: Option<u32>) -> Result<Handler, CliError> {
        if !delta {
            return Ok(Handler::Folders);
        }
        #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
        return Ok(Handler::Delta(edge::delta::Target::open(config, buckets)?));
        #[cfg(not(all(not(target_arch = "wasm32"), feature = "delta")))]
        {
            let _ = (config, buckets);
            Err(CliError::Usage(
                "Delta tables (--delta) are written by the native build only: the WASI module \
                 keeps the table in folders (_tidemark/ beside the output)"
                    .into(),
            ))
        }
    }

    fn handle(
        &self,
        config: &Config,
        record: usize,
        event: &s3_event::ObjectEvent,
    ) -> (edge::LogLine, Result<(), edge::EdgeError>) {
        match self {
            Handler::Folders => edge::handle(config, record, event),
            #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
            Handler::Delta(target) => edge::delta::handle(config, target, record, event),
        }
    }
}

fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
        InputError::Read {
            path: "standard input".into(),
            source,
        }
    })?;
    Ok(text)
}
