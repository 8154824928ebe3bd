//! A Distributed Map's ItemReader, ItemBatcher and ResultWriter: the fields parsed by
//! [`crate::distributed::DistributedSpec`] (its problems reported here), their
//! Parameters/Arguments, paths and expressions compiled in the state's query language, and
//! what the local executor cannot run (Parquet) set apart from what AWS refuses.

use serde_json::{Map, Value};

use crate::distributed::{DistributedSpec, InputType, LimitSpec, MaxItemsSpec};
use crate::model::*;

use super::Validator;
use super::jsonata::Reads;

/// The fields AWS allows only on a Distributed Map.
const FIELDS: [&str; 3] = ["ItemReader", "ItemBatcher", "ResultWriter"];

impl Validator {
    /// A Map state's ItemReader, ItemBatcher and ResultWriter; `None` when it has none of
    /// them or they are not valid.
    pub(super) fn distributed_fields(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
        distributed: bool,
    ) -> Option<Box<DistributedFields>> {
        let present: Vec<&str> = FIELDS
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.is_empty() {
            return None;
        }
        if !distributed {
            // AWSDOC "ItemReader (Map)", "ItemBatcher (Map)", "ResultWriter (Map)": each is a
            // field of the Distributed Map state.
            for k in present {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!(
                        "{k} is only allowed on a Distributed Map (ProcessorConfig Mode DISTRIBUTED)"
                    ),
                );
            }
            return None;
        }
        let jsonata = lang == QueryLanguage::Jsonata;
        let spec = match DistributedSpec::parse(obj, loc, jsonata) {
            Ok(spec) => spec,
            Err(problems) => {
                for p in problems {
                    self.problem(&p.location, p.message);
                }
                return None;
            }
        };
        let args_field = if jsonata { "Arguments" } else { "Parameters" };
        let mut fields = DistributedFields {
            spec: DistributedSpec::default(),
            reader_args: None,
            reader_max_items: None,
            batch_input: None,
            batch_max_items: None,
            batch_max_bytes: None,
            writer_args: None,
        };
        if let Some(r) = &spec.reader {
            let at = format!("{loc}/ItemReader");
            fields.reader_args = self.builder(&r.parameters, &format!("{at}/{args_field}"), lang);
            let config = format!("{at}/ReaderConfig");
            fields.reader_max_items = match &r.config.max_items {
                MaxItemsSpec::Unset => None,
                MaxItemsSpec::Static(n) => Some(Number::Fixed(*n)),
                MaxItemsSpec::Path(p) => self
                    .path(p, &format!("{config}/MaxItemsPath"), true)
                    .map(Number::Path),
                MaxItemsSpec::Expression(e) => self
                    .expression(e, &format!("{config}/MaxItems"))
                    .map(Number::Expr),
            };
            if r.config.input_type == Some(InputType::Parquet) {
                self.unsupported.push(super::Problem {
                    location: loc.to_string(),
                    message: "ItemReader.ReaderConfig.InputType PARQUET".into(),
                });
            }
        }
        if let Some(b) = &spec.batcher {
            let at = format!("{loc}/ItemBatcher");
            fields.batch_input = b
                .batch_input
                .as_ref()
                .and_then(|v| self.builder(v, &format!("{at}/BatchInput"), lang));
            fields.batch_max_items = self.limit(&b.max_items, &at, "MaxItemsPerBatch");
            fields.batch_max_bytes = self.limit(&b.max_bytes, &at, "MaxInputBytesPerBatch");
        }
        if let Some(w) = &spec.writer {
            let at = format!("{loc}/ResultWriter/{args_field}");
            fields.writer_args = w
                .parameters
                .as_ref()
                .and_then(|v| self.builder(v, &at, lang));
        }
        fields.spec = spec;
        Some(Box::new(fields))
    }

    /// A payload the executor evaluates on the state's input: a JSONPath template or a
    /// JSONata payload.
    fn builder(&mut self, v: &Value, loc: &str, lang: QueryLanguage) -> Option<Builder> {
        match lang {
            QueryLanguage::Jsonata => self.payload(v, loc, Reads::Input).map(Builder::Jsonata),
            QueryLanguage::JsonPath => Some(Builder::Template(self.template(v, loc))),
        }
    }

    /// An ItemBatcher limit, its path or expression compiled.
    fn limit(&mut self, l: &LimitSpec, at: &str, name: &str) -> Option<Number> {
        match l {
            LimitSpec::Unset => None,
            LimitSpec::Static(n) => Some(Number::Fixed(*n)),
            LimitSpec::Path(p) => self
                .path(p, &format!("{at}/{name}Path"), true)
                .map(Number::Path),
            LimitSpec::Expression(e) => self
                .expression(e, &format!("{at}/{name}"))
                .map(Number::Expr),
        }
    }
}
