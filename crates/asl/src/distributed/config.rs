//! The ItemReader field of a Distributed Map, parsed from the definition's JSON: the S3 action
//! (`Resource`), `ReaderConfig`, and the unevaluated `Parameters` (JSONPath) or `Arguments`
//! (JSONata). Validation problems carry a location and a message for the validator.
//!
//! Source: AWSDOC "ItemReader (Map)" (fields, values, the 100,000,000 item limit); recorded AWS
//! executions in LocalStack's `test_base_scenarios.snapshot.json` (`MaxItems` 0 reads every
//! item).

use serde_json::Value;

use crate::validate::Problem;

/// Most items a Distributed Map reads (AWSDOC "ItemReader (Map)": "a limit of up to
/// 100,000,000 after which the Distributed Map stops reading items").
pub const MAX_ITEMS_LIMIT: u64 = 100_000_000;

/// The S3 action the reader calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderResource {
    /// `arn:aws:states:::s3:getObject`: one object (a file of items, or a manifest).
    GetObject,
    /// `arn:aws:states:::s3:listObjectsV2`: the objects under a prefix.
    ListObjectsV2,
}

impl ReaderResource {
    /// Parses `arn:<partition>:states:::s3:getObject` / `...:listObjectsV2`.
    pub fn parse(arn: &str) -> Option<ReaderResource> {
        let rest = arn.strip_prefix("arn:")?;
        let (_partition, action) = rest.split_once(":states:::s3:")?;
        match action {
            "getObject" => Some(ReaderResource::GetObject),
            "listObjectsV2" => Some(ReaderResource::ListObjectsV2),
            _ => None,
        }
    }
}

/// `ReaderConfig.InputType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    Csv,
    Json,
    Jsonl,
    /// Accepted by AWS; this crate cannot read Parquet and says so.
    Parquet,
    /// An S3 Inventory `manifest.json` pointing to CSV inventory files.
    Manifest,
}

impl InputType {
    fn parse(s: &str) -> Option<InputType> {
        Some(match s {
            "CSV" => InputType::Csv,
            "JSON" => InputType::Json,
            "JSONL" => InputType::Jsonl,
            "PARQUET" => InputType::Parquet,
            "MANIFEST" => InputType::Manifest,
            _ => return None,
        })
    }
}

/// `ReaderConfig.CSVHeaderLocation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvHeaders {
    /// `FIRST_ROW` (the default): the file's first record is the header.
    FirstRow,
    /// `GIVEN` with `CSVHeaders`.
    Given(Vec<String>),
}

/// `ReaderConfig.CSVDelimiter` (AWSDOC "ItemReader (Map)": COMMA, the default, PIPE,
/// SEMICOLON, SPACE, TAB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvDelimiter {
    #[default]
    Comma,
    Pipe,
    Semicolon,
    Space,
    Tab,
}

impl CsvDelimiter {
    fn parse(s: &str) -> Option<CsvDelimiter> {
        Some(match s {
            "COMMA" => CsvDelimiter::Comma,
            "PIPE" => CsvDelimiter::Pipe,
            "SEMICOLON" => CsvDelimiter::Semicolon,
            "SPACE" => CsvDelimiter::Space,
            "TAB" => CsvDelimiter::Tab,
            _ => return None,
        })
    }

    /// The character.
    pub fn char(self) -> char {
        match self {
            CsvDelimiter::Comma => ',',
            CsvDelimiter::Pipe => '|',
            CsvDelimiter::Semicolon => ';',
            CsvDelimiter::Space => ' ',
            CsvDelimiter::Tab => '\t',
        }
    }
}

/// `ReaderConfig.ManifestType` (AWSDOC "ItemReader (Map)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestType {
    /// An Athena `UNLOAD` manifest: a CSV list of data file URIs, read with `InputType`.
    AthenaData,
    /// An S3 Inventory manifest (as `InputType: MANIFEST`).
    S3Inventory,
}

/// `ReaderConfig.Transformation` (AWSDOC "ItemReader (Map)", "Processing nested data sets").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReaderTransformation {
    /// Items are the listed objects' metadata.
    #[default]
    None,
    /// Items are the contents of every listed object, read with `InputType`.
    LoadAndFlatten,
}

/// Where the item limit comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MaxItemsSpec {
    /// No limit (beyond [`MAX_ITEMS_LIMIT`]).
    Unset,
    /// `MaxItems` as a number.
    Static(u64),
    /// `MaxItemsPath` (JSONPath): the caller evaluates it, then [`max_items_from_value`].
    Path(String),
    /// `MaxItems` as a JSONata expression string: the caller evaluates it, then
    /// [`max_items_from_value`].
    Expression(String),
}

/// `ReaderConfig`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderConfig {
    pub input_type: Option<InputType>,
    pub csv_headers: CsvHeaders,
    pub csv_delimiter: CsvDelimiter,
    pub manifest_type: Option<ManifestType>,
    pub transformation: ReaderTransformation,
    /// `ItemsPointer`: a JSON pointer to the array in a JSON file.
    pub items_pointer: Option<String>,
    pub max_items: MaxItemsSpec,
}

/// The ItemReader field, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReaderSpec {
    pub resource: ReaderResource,
    pub config: ReaderConfig,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata), unevaluated: the caller evaluates it
    /// against the state input and passes the result to [`S3Target::from_value`].
    pub parameters: Value,
}

/// The evaluated `Parameters`/`Arguments`: what to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    pub bucket: String,
    /// `Key` (getObject).
    pub key: Option<String>,
    /// `Prefix` (listObjectsV2; empty when absent).
    pub prefix: Option<String>,
    /// `VersionId`: accepted; the object store has no versions, so it reads the current one.
    pub version_id: Option<String>,
}

impl S3Target {
    /// From the evaluated `Parameters`/`Arguments`; a missing or non-string `Bucket` (or `Key`
    /// for getObject) is `States.ItemReaderFailed` (cause wording not AWS-recorded).
    pub fn from_value(
        resource: ReaderResource,
        v: &Value,
    ) -> Result<S3Target, super::MapRunFailure> {
        fn fail(cause: impl Into<String>) -> super::MapRunFailure {
            super::MapRunFailure::reader(cause)
        }
        let obj = v
            .as_object()
            .ok_or_else(|| fail("the ItemReader's parameters must be a JSON object"))?;
        let text = |name: &str| -> Result<Option<String>, super::MapRunFailure> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(fail(format!(
                    "the ItemReader's parameter {name} must be a string, got {other}"
                ))),
            }
        };
        let bucket =
            text("Bucket")?.ok_or_else(|| fail("the ItemReader's parameters have no Bucket"))?;
        let key = text("Key")?;
        if resource == ReaderResource::GetObject && key.is_none() {
            return Err(fail("the ItemReader's parameters have no Key"));
        }
        Ok(S3Target {
            bucket,
            key,
            prefix: text("Prefix")?,
            version_id: text("VersionId")?,
        })
    }
}

/// The item limit from an evaluated `MaxItemsPath` / JSONata `MaxItems`: 0 means no limit
/// (AWS-recorded: `test_map_item_reader_csv_max_items_paths[0]` reads all four rows), values
/// above [`MAX_ITEMS_LIMIT`] are capped (recorded `[100000001]` succeeds), a negative value is
/// `States.ItemReaderFailed` "field MaxItems must be positive" (recorded `[-1]`), a non-integer
/// is `States.Runtime` "The MaxItemsPath field refers to value "1.5" which is not a valid
/// integer: $.MaxItems" (recorded `[1.5]`; `path` is the field's path text).
pub fn max_items_from_value(v: &Value, path: &str) -> Result<u64, super::MapRunFailure> {
    let not_int = || {
        super::MapRunFailure::runtime(format!(
            "The MaxItemsPath field refers to value \"{}\" which is not a valid integer: {path}",
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        ))
    };
    let Value::Number(n) = v else {
        return Err(not_int());
    };
    if let Some(u) = n.as_u64() {
        return Ok(effective_limit(u));
    }
    if n.as_i64().is_some() {
        return Err(super::MapRunFailure::reader(
            "field MaxItems must be positive",
        ));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f < 0.0 => Err(super::MapRunFailure::reader(
            "field MaxItems must be positive",
        )),
        Some(f) if f.fract() == 0.0 => Ok(effective_limit(f as u64)),
        _ => Err(not_int()),
    }
}

/// 0 (no limit) and anything above the cap become [`MAX_ITEMS_LIMIT`].
pub fn effective_limit(n: u64) -> u64 {
    if n == 0 || n > MAX_ITEMS_LIMIT {
        MAX_ITEMS_LIMIT
    } else {
        n
    }
}

impl ItemReaderSpec {
    /// The static limit, or `None` when the caller must evaluate a path or expression.
    pub fn static_max_items(&self) -> Option<u64> {
        match &self.config.max_items {
            MaxItemsSpec::Unset => Some(MAX_ITEMS_LIMIT),
            MaxItemsSpec::Static(n) => Some(effective_limit(*n)),
            MaxItemsSpec::Path(_) | MaxItemsSpec::Expression(_) => None,
        }
    }

    /// Parses the `ItemReader` object at `loc` (e.g. `/States/Map/ItemReader`); `jsonata`
    /// says the state's query language. Every problem found is returned.
    pub fn parse(v: &Value, loc: &str, jsonata: bool) -> Result<ItemReaderSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem =
            |at: &str, message: String| problems.push(super::problem_at(loc, at, message));
        let Some(obj) = v.as_object() else {
            problem("", "ItemReader must be a JSON object".into());
            return Err(problems);
        };
        let (params_field, other) = if jsonata {
            ("Arguments", "Parameters")
        } else {
            ("Parameters", "Arguments")
        };
        for k in obj.keys() {
            if !["Resource", "ReaderConfig", params_field].contains(&k.as_str()) {
                if k == other {
                    problem(
                        k,
                        format!(
                            "{other} is not allowed in a {} state; use {params_field}",
                            if jsonata { "JSONata" } else { "JSONPath" }
                        ),
                    );
                } else {
                    problem(k, format!("ItemReader does not have a field {k}"));
                }
            }
        }
        let resource = match obj.get("Resource") {
            None => {
                problem("", "ItemReader needs a Resource".into());
                None
            }
            Some(Value::String(s)) => {
                let r = ReaderResource::parse(s);
                if r.is_none() {
                    problem(
                        "Resource",
                        format!(
                            "Resource must be arn:aws:states:::s3:getObject or \
                             arn:aws:states:::s3:listObjectsV2, got '{s}'"
                        ),
                    );
                }
                r
            }
            Some(_) => {
                problem("Resource", "Resource must be a string".into());
                None
            }
        };
        let parameters = obj.get(params_field).cloned().unwrap_or(Value::Null);
        let shaped =
            parameters.is_null() || parameters.is_object() || (jsonata && parameters.is_string());
        if !shaped {
            problem(
                params_field,
                format!("{params_field} must be a JSON object"),
            );
        }
        if parameters.is_null() {
            problem(
                "",
                format!("ItemReader needs {params_field} with the Bucket"),
            );
        }
        let config = parse_reader_config(obj.get("ReaderConfig"), resource, jsonata, &mut problem);
        match (resource, config, problems.is_empty()) {
            (Some(resource), Some(config), true) => Ok(ItemReaderSpec {
                resource,
                config,
                parameters,
            }),
            _ => Err(problems),
        }
    }
}

fn parse_reader_config(
    v: Option<&Value>,
    resource: Option<ReaderResource>,
    jsonata: bool,
    problem: &mut impl FnMut(&str, String),
) -> Option<ReaderConfig> {
    let empty = serde_json::Map::new();
    let obj = match v {
        None => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => {
            problem("ReaderConfig", "ReaderConfig must be a JSON object".into());
            return None;
        }
    };
    let at = |f: &str| format!("ReaderConfig/{f}");
    const KNOWN: [&str; 9] = [
        "InputType",
        "CSVHeaderLocation",
        "CSVHeaders",
        "CSVDelimiter",
        "ManifestType",
        "Transformation",
        "ItemsPointer",
        "MaxItems",
        "MaxItemsPath",
    ];
    for k in obj.keys() {
        if !KNOWN.contains(&k.as_str()) {
            problem(&at(k), format!("ReaderConfig does not have a field {k}"));
        }
    }
    let word = |f: &str, problem: &mut dyn FnMut(&str, String)| -> Option<String> {
        match obj.get(f) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problem(&at(f), format!("{f} must be a string"));
                None
            }
        }
    };
    let input_type = word("InputType", problem).and_then(|s| {
        let t = InputType::parse(&s);
        if t.is_none() {
            problem(
                &at("InputType"),
                format!("InputType must be one of CSV, JSON, JSONL, PARQUET, MANIFEST, got '{s}'"),
            );
        }
        t
    });
    let manifest_type = word("ManifestType", problem).and_then(|s| match s.as_str() {
        "ATHENA_DATA" => Some(ManifestType::AthenaData),
        "S3_INVENTORY" => Some(ManifestType::S3Inventory),
        _ => {
            problem(
                &at("ManifestType"),
                format!("ManifestType must be ATHENA_DATA or S3_INVENTORY, got '{s}'"),
            );
            None
        }
    });
    let transformation = match word("Transformation", problem).as_deref() {
        None | Some("NONE") => ReaderTransformation::None,
        Some("LOAD_AND_FLATTEN") => ReaderTransformation::LoadAndFlatten,
        Some(s) => {
            problem(
                &at("Transformation"),
                format!("Transformation must be NONE or LOAD_AND_FLATTEN, got '{s}'"),
            );
            ReaderTransformation::None
        }
    };
    // AWSDOC "ItemReader (Map)": S3_INVENTORY assumes CSV, so InputType must not be set;
    // LOAD_AND_FLATTEN needs InputType and applies to listObjectsV2.
    if manifest_type == Some(ManifestType::S3Inventory) && obj.contains_key("InputType") {
        problem(
            &at("InputType"),
            "InputType must not be specified when ManifestType is S3_INVENTORY".into(),
        );
    }
    if manifest_type == Some(ManifestType::AthenaData)
        && !matches!(
            input_type,
            Some(InputType::Csv | InputType::Jsonl | InputType::Parquet)
        )
    {
        problem(
            &at("InputType"),
            "ManifestType ATHENA_DATA needs InputType CSV, JSONL or PARQUET".into(),
        );
    }
    if transformation == ReaderTransformation::LoadAndFlatten {
        if input_type.is_none() {
            problem(
                &at("Transformation"),
                "Transformation LOAD_AND_FLATTEN needs InputType".into(),
            );
        }
        if resource == Some(ReaderResource::GetObject) {
            problem(
                &at("Transformation"),
                "Transformation LOAD_AND_FLATTEN applies to arn:aws:states:::s3:listObjectsV2"
                    .into(),
            );
        }
    }
    if resource == Some(ReaderResource::GetObject)
        && input_type.is_none()
        && manifest_type != Some(ManifestType::S3Inventory)
    {
        problem(
            "ReaderConfig",
            "ReaderConfig needs an InputType with arn:aws:states:::s3:getObject".into(),
        );
    }
    let csv_like = matches!(input_type, Some(InputType::Csv | InputType::Manifest))
        || manifest_type == Some(ManifestType::S3Inventory);
    let location = word("CSVHeaderLocation", problem);
    let headers = obj.get("CSVHeaders");
    for (f, present) in [
        ("CSVHeaderLocation", location.is_some()),
        ("CSVDelimiter", obj.contains_key("CSVDelimiter")),
    ] {
        if present && !csv_like {
            problem(
                &at(f),
                format!("{f} can be specified only when InputType is CSV or MANIFEST"),
            );
        }
    }
    let csv_headers = match location.as_deref() {
        None | Some("FIRST_ROW") => {
            if headers.is_some() {
                problem(
                    &at("CSVHeaders"),
                    "CSVHeaders can be specified only when CSVHeaderLocation is GIVEN".into(),
                );
            }
            CsvHeaders::FirstRow
        }
        Some("GIVEN") => match headers {
            Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
                CsvHeaders::Given(
                    a.iter()
                        .filter_map(|h| h.as_str().map(String::from))
                        .collect(),
                )
            }
            Some(_) => {
                problem(
                    &at("CSVHeaders"),
                    "CSVHeaders must be a non-empty array of strings".into(),
                );
                CsvHeaders::FirstRow
            }
            None => {
                problem(
                    &at("CSVHeaders"),
                    "CSVHeaderLocation GIVEN needs CSVHeaders".into(),
                );
                CsvHeaders::FirstRow
            }
        },
        Some(s) => {
            problem(
                &at("CSVHeaderLocation"),
                format!("CSVHeaderLocation must be FIRST_ROW or GIVEN, got '{s}'"),
            );
            CsvHeaders::FirstRow
        }
    };
    let csv_delimiter = word("CSVDelimiter", problem)
        .map(|s| {
            CsvDelimiter::parse(&s).unwrap_or_else(|| {
                problem(
                    &at("CSVDelimiter"),
                    format!(
                        "CSVDelimiter must be one of COMMA, PIPE, SEMICOLON, SPACE, TAB, got '{s}'"
                    ),
                );
                CsvDelimiter::Comma
            })
        })
        .unwrap_or_default();
    let items_pointer = word("ItemsPointer", problem);
    if let Some(p) = &items_pointer
        && !p.is_empty()
        && !p.starts_with('/')
    {
        problem(
            &at("ItemsPointer"),
            "ItemsPointer must be a JSON pointer (empty or starting with '/')".into(),
        );
    }
    let max_items = match (obj.get("MaxItems"), obj.get("MaxItemsPath")) {
        (Some(_), Some(_)) => {
            problem(
                &at("MaxItems"),
                "MaxItems and MaxItemsPath cannot both be specified".into(),
            );
            MaxItemsSpec::Unset
        }
        (None, None) => MaxItemsSpec::Unset,
        (Some(Value::Number(n)), None) => match n.as_u64() {
            Some(u) if u <= MAX_ITEMS_LIMIT => MaxItemsSpec::Static(u),
            _ => {
                problem(
                    &at("MaxItems"),
                    format!("MaxItems must be an integer from 0 to {MAX_ITEMS_LIMIT}"),
                );
                MaxItemsSpec::Unset
            }
        },
        (Some(Value::String(s)), None) if jsonata => MaxItemsSpec::Expression(s.clone()),
        (Some(_), None) => {
            problem(
                &at("MaxItems"),
                format!("MaxItems must be an integer from 0 to {MAX_ITEMS_LIMIT}"),
            );
            MaxItemsSpec::Unset
        }
        (None, Some(p)) => {
            if jsonata {
                problem(
                    &at("MaxItemsPath"),
                    "MaxItemsPath is not allowed in a JSONata state; use MaxItems".into(),
                );
            }
            match p.as_str() {
                Some(s) if s.starts_with('$') => MaxItemsSpec::Path(s.to_string()),
                _ => {
                    problem(
                        &at("MaxItemsPath"),
                        "MaxItemsPath must be a reference path".into(),
                    );
                    MaxItemsSpec::Unset
                }
            }
        }
    };
    Some(ReaderConfig {
        input_type,
        csv_headers,
        csv_delimiter,
        manifest_type,
        transformation,
        items_pointer,
        max_items,
    })
}
