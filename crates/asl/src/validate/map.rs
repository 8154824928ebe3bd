//! Map states: the item processor (inline or distributed), ItemsPath, ItemSelector (or the
//! legacy Parameters), MaxConcurrency and the tolerated failures; a Distributed Map's
//! ItemReader, ItemBatcher and ResultWriter are in `distributed`.

use serde_json::{Map, Value};

use crate::model::*;

use super::Validator;
use super::jsonata::Reads;

impl Validator {
    /// A Map state's own fields.
    pub(super) fn map(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
    ) -> Option<MapState> {
        let (key, proc_v) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            (Some(_), Some(_)) => {
                self.problem(loc, "'ItemProcessor' and 'Iterator' cannot both be given");
                return None;
            }
            (None, None) => {
                self.problem(loc, "a Map state needs 'ItemProcessor'");
                return None;
            }
        };
        let ploc = format!("{loc}/{key}");
        let Some(po) = proc_v.as_object() else {
            self.problem(&ploc, "must be an object");
            return None;
        };
        self.sub_machine_fields(po, &ploc);
        let mut distributed = false;
        if let Some(pc) = po.get("ProcessorConfig") {
            match pc.get("Mode").and_then(|m| m.as_str()) {
                None | Some("INLINE") => {}
                Some("DISTRIBUTED") => distributed = true,
                Some(m) => self.problem(
                    &format!("{ploc}/ProcessorConfig/Mode"),
                    format!("Mode must be INLINE or DISTRIBUTED, got '{m}'"),
                ),
            }
        }
        let s3 = self.distributed_fields(obj, loc, lang, distributed);
        let label = obj.get("Label").and_then(|l| l.as_str()).map(String::from);
        if obj.contains_key("Label") && !distributed {
            self.problem(
                &format!("{loc}/Label"),
                "Label is only allowed on a Distributed Map",
            );
        }
        let processor = self.machine(po, &ploc);
        if lang == QueryLanguage::Jsonata {
            return Some(MapState {
                processor: processor?,
                distributed,
                label,
                s3,
                items: match obj.get("Items") {
                    None => Items::Input,
                    Some(v @ (Value::Array(_) | Value::String(_)))
                        if v.as_str().is_none_or(crate::jsonata::is_expression) =>
                    {
                        self.payload(v, &format!("{loc}/Items"), Reads::Input)
                            .map_or(Items::Input, Items::Jsonata)
                    }
                    Some(_) => {
                        self.problem(
                            &format!("{loc}/Items"),
                            "Items must be an array or a JSONata expression",
                        );
                        Items::Input
                    }
                },
                item_selector: obj.get("ItemSelector").and_then(|v| {
                    self.payload(v, &format!("{loc}/ItemSelector"), Reads::Input)
                        .map(Builder::Jsonata)
                }),
                max_concurrency: self.number(obj, "MaxConcurrency", loc, false, lang),
                tolerated_failure_count: self.number(
                    obj,
                    "ToleratedFailureCount",
                    loc,
                    false,
                    lang,
                ),
                tolerated_failure_percentage: obj.get("ToleratedFailurePercentage").and_then(|v| {
                    self.jsonata_percentage(v, &format!("{loc}/ToleratedFailurePercentage"))
                }),
                common: self.common(obj, loc, lang),
            });
        }
        let items = match obj.get("ItemsPath") {
            None => Items::Input,
            Some(Value::String(s)) => self
                .path(s, &format!("{loc}/ItemsPath"), true)
                .map_or(Items::Input, Items::Path),
            Some(_) => {
                self.problem(
                    &format!("{loc}/ItemsPath"),
                    "ItemsPath must be a path string",
                );
                Items::Input
            }
        };
        let selector_key = if obj.contains_key("ItemSelector") {
            Some("ItemSelector")
        } else if obj.contains_key("Parameters") {
            Some("Parameters")
        } else {
            None
        };
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.problem(loc, "'ItemSelector' and 'Parameters' cannot both be given");
        }
        let item_selector =
            selector_key.map(|k| Builder::Template(self.template(&obj[k], &format!("{loc}/{k}"))));
        let max_concurrency = self.number(obj, "MaxConcurrency", loc, false, lang);
        let tolerated_failure_count = self.number(obj, "ToleratedFailureCount", loc, false, lang);
        let tolerated_failure_percentage = match (
            obj.get("ToleratedFailurePercentage"),
            obj.get("ToleratedFailurePercentagePath"),
        ) {
            (Some(v), None) => match v.as_f64() {
                Some(f) if (0.0..=100.0).contains(&f) => Some(PercentSpec::Fixed(f)),
                _ => {
                    self.problem(
                        &format!("{loc}/ToleratedFailurePercentage"),
                        "must be a number from 0 to 100",
                    );
                    None
                }
            },
            (None, Some(Value::String(s))) => self
                .path(s, &format!("{loc}/ToleratedFailurePercentagePath"), true)
                .map(PercentSpec::Path),
            (None, None) => None,
            _ => {
                self.problem(
                    loc,
                    "invalid ToleratedFailurePercentage / ToleratedFailurePercentagePath",
                );
                None
            }
        };
        let mut common = self.common(obj, loc, lang);
        // `Parameters` on a Map is the legacy ItemSelector, not a state-level template.
        if selector_key == Some("Parameters")
            && let WorkData::JsonPath { parameters, .. } = &mut common.data
        {
            *parameters = None;
        }
        Some(MapState {
            processor: processor?,
            distributed,
            label,
            s3,
            items,
            item_selector,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            common,
        })
    }
}
