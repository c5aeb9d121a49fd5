//! `ADD COLUMN ... DEFAULT` with a default that makes PostgreSQL rewrite the table.

use pg_query::NodeEnum;
use pg_query::protobuf::{ConstrType, Node};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef, altered_existing_table, lock_risk};
use crate::ast::{added_column, alter_cmds, column_constraints, constr_type, is_serial_type, string};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct VolatileDefault;

static INFO: RuleInfo = RuleInfo {
    code: "volatile-default",
    severity: Severity::Error,
    summary: "A new column whose default is volatile (or any default before PostgreSQL 11) rewrites the table.",
    help: "Add the column without the default, SET DEFAULT in a second statement, and backfill existing rows in batches.",
    docs: Docs {
        what: "Flags `ALTER TABLE ... ADD COLUMN ... DEFAULT expr` on a table that exists before the migration when the default is not provably non-volatile: a volatile function such as `random()`, `gen_random_uuid()` or `clock_timestamp()`, or a function Cutover does not know (user functions, unknown signatures). Literals, casts, arrays, operators over them, `CURRENT_TIMESTAMP` and built-in STABLE or IMMUTABLE functions such as `now()` are fine. Before PostgreSQL 11 every non-NULL default is flagged. `ALTER COLUMN ... SET DEFAULT` is not flagged: it applies to future rows only.",
        why: "Since PostgreSQL 11 a non-volatile default is evaluated once and stored in the catalog, so ADD COLUMN is instant. A volatile default has to be computed for each existing row, so PostgreSQL rewrites the whole table and its indexes while holding ACCESS EXCLUSIVE: no reads or writes for the duration.",
        example: "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        instead: "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();\n-- backfill existing rows in batches:\nUPDATE users SET token = gen_random_uuid() WHERE id BETWEEN 1 AND 10000 AND token IS NULL;",
    },
};

impl Rule for VolatileDefault {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some((table, alter)) = altered_existing_table(stmt, ctx) else { return };
        for col in alter_cmds(alter).filter_map(added_column) {
            if col.type_name.as_ref().is_some_and(is_serial_type) {
                continue;
            }
            let default = column_constraints(col)
                .filter(|c| constr_type(c) == ConstrType::ConstrDefault)
                .find_map(|c| c.raw_expr.as_deref())
                .or(col.raw_default.as_deref());
            let Some(default) = default else { continue };
            let why = if ctx.pg_version < 11 {
                if is_null(default) {
                    continue;
                }
                "evaluated per row before PostgreSQL 11"
            } else {
                match volatility(default) {
                    Volatility::NonVolatile => continue,
                    Volatility::Volatile => "volatile",
                    Volatility::Unknown => "not known to be non-volatile",
                }
            };
            let expr = default_text(stmt.text, default);
            out.push(lock_risk(
                ctx,
                &table,
                Finding::new(format!(
                    "Default {expr} for new column {} is {why}, so adding it rewrites {} under ACCESS EXCLUSIVE.",
                    col.colname,
                    table.display()
                )),
            ));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Volatility {
    NonVolatile,
    Volatile,
    Unknown,
}

fn is_null(node: &Node) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::AConst(c)) => c.isnull,
        Some(NodeEnum::TypeCast(t)) => t.arg.as_deref().is_some_and(is_null),
        _ => false,
    }
}

/// The default as written (from its location to the end of the expression is not known, so
/// the first token group up to a keyword that can follow it).
fn default_text(text: &str, node: &Node) -> String {
    let location = match node.node.as_ref() {
        Some(NodeEnum::FuncCall(f)) => f.location,
        Some(NodeEnum::AConst(c)) => c.location,
        Some(NodeEnum::TypeCast(t)) => t.location,
        Some(NodeEnum::AExpr(a)) => match a.lexpr.as_deref() {
            Some(left) => return default_text(text, left),
            None => a.location,
        },
        Some(NodeEnum::SqlvalueFunction(f)) => f.location,
        Some(NodeEnum::AArrayExpr(a)) => a.location,
        _ => -1,
    };
    let Some(rest) = usize::try_from(location).ok().and_then(|l| text.get(l..)) else {
        return "expression".to_string();
    };
    let mut depth = 0i32;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
        if depth == 0 && c.is_whitespace() {
            let tail = rest[i..].trim_start().to_ascii_uppercase();
            if ["NOT ", "NULL", "CONSTRAINT", "CHECK", "REFERENCES", "UNIQUE", "PRIMARY", "COLLATE", "GENERATED"]
                .iter()
                .any(|k| tail.starts_with(k))
            {
                end = i;
                break;
            }
        }
    }
    rest[..end].trim().to_string()
}

/// Whether every function the expression calls is a built-in non-volatile one at that arity.
/// Whether an expression calls a volatile built-in (the same judgement the rule makes), for
/// the lock classification in [`crate::locks`].
pub(crate) fn is_volatile(node: &Node) -> bool {
    volatility(node) == Volatility::Volatile
}

fn volatility(node: &Node) -> Volatility {
    let Some(n) = node.node.as_ref() else { return Volatility::NonVolatile };
    let all = |nodes: &[Node]| {
        nodes.iter().map(volatility).fold(Volatility::NonVolatile, |acc, v| match (acc, v) {
            (Volatility::Volatile, _) | (_, Volatility::Volatile) => Volatility::Volatile,
            (Volatility::Unknown, _) | (_, Volatility::Unknown) => Volatility::Unknown,
            _ => Volatility::NonVolatile,
        })
    };
    let one = |n: Option<&Node>| n.map_or(Volatility::NonVolatile, volatility);
    match n {
        NodeEnum::AConst(_) | NodeEnum::SqlvalueFunction(_) => Volatility::NonVolatile,
        NodeEnum::TypeCast(t) => one(t.arg.as_deref()),
        NodeEnum::CollateClause(c) => one(c.arg.as_deref()),
        NodeEnum::AArrayExpr(a) => all(&a.elements),
        NodeEnum::List(l) => all(&l.items),
        NodeEnum::AExpr(a) => {
            let parts: Vec<Node> = [a.lexpr.as_deref(), a.rexpr.as_deref()].into_iter().flatten().cloned().collect();
            all(&parts)
        }
        NodeEnum::BoolExpr(b) => all(&b.args),
        NodeEnum::NullTest(t) => one(t.arg.as_deref()),
        NodeEnum::CoalesceExpr(c) => all(&c.args),
        NodeEnum::MinMaxExpr(m) => all(&m.args),
        NodeEnum::RowExpr(r) => all(&r.args),
        NodeEnum::CaseExpr(c) => {
            let mut parts: Vec<Node> =
                [c.arg.as_deref(), c.defresult.as_deref()].into_iter().flatten().cloned().collect();
            parts.extend(c.args.iter().cloned());
            all(&parts)
        }
        NodeEnum::CaseWhen(w) => {
            let parts: Vec<Node> = [w.expr.as_deref(), w.result.as_deref()].into_iter().flatten().cloned().collect();
            all(&parts)
        }
        NodeEnum::FuncCall(f) => {
            let names: Vec<&str> = f.funcname.iter().filter_map(string).collect();
            let builtin = match names.as_slice() {
                [name] | ["pg_catalog", name] => Some(name.to_ascii_lowercase()),
                _ => None,
            };
            let Some(name) = builtin else { return Volatility::Unknown };
            if VOLATILE.contains(&name.as_str()) {
                return Volatility::Volatile;
            }
            if !non_volatile_builtin(&name, f.args.len()) || f.over.is_some() {
                return Volatility::Unknown;
            }
            all(&f.args)
        }
        _ => Volatility::Unknown,
    }
}

/// Built-in volatile functions a default might call (`provolatile = 'v'` in pg_proc).
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "currval",
    "lastval",
    "setval",
    "set_config",
    "txid_status",
    "gen_random_bytes",
];

/// Whether `name` called with `arity` arguments is a built-in function whose every overload
/// at that arity is STABLE or IMMUTABLE.
fn non_volatile_builtin(name: &str, arity: usize) -> bool {
    NON_VOLATILE.split_whitespace().any(|entry| {
        let Some((n, arities)) = entry.split_once(':') else { return false };
        n == name
            && arities.split(',').any(|a| match a.strip_suffix('+') {
                Some(min) => min.parse::<usize>().is_ok_and(|min| arity >= min),
                None => a.parse::<usize>().is_ok_and(|a| a == arity),
            })
    })
}

/// Built-in (pg_catalog) functions that are not volatile, as `name:arities` (`n+` = variadic,
/// at least n). Generated from PostgreSQL 15's pg_proc: non-set-returning functions, with
/// type I/O, operator, aggregate-support and index-support functions left out, where every
/// overload at that argument count has `provolatile <> 'v'`.
const NON_VOLATILE: &str = "\
abbrev:1 abs:1 acldefault:2 acos:1 acosd:1 acosh:1 age:1,2 area:1 array_dims:1 array_fill:2,3 \
    array_length:2 array_lower:2 array_ndims:1 array_position:2,3 array_positions:2 array_remove:2 \
    array_replace:3 array_to_json:1,2 array_to_string:2,3 array_to_tsvector:1 array_upper:2 ascii:1 \
    asin:1 asind:1 asinh:1 atan:1 atan2:2 atan2d:2 atand:1 atanh:1 big5_to_euc_tw:6 big5_to_mic:6 \
    big5_to_utf8:6 bit:2,3 bit_count:1 bit_length:1 box:1,2 bpchar:1,3 broadcast:1 btrim:1,2 \
    cardinality:1 cash_words:1 cbrt:1 ceil:1 ceiling:1 center:1 char:1 char_length:1 character_length:1 \
    chr:1 cidr:1 circle:1,2 col_description:2 concat:1+ concat_ws:2+ convert:3 convert_from:2 \
    convert_to:2 cos:1 cosd:1 cosh:1 cot:1 cotd:1 current_database:0 current_schema:0 current_schemas:1 \
    current_setting:1,2 current_user:0 database_to_xml:3 database_to_xml_and_xmlschema:3 \
    database_to_xmlschema:3 date:1 date_bin:3 date_part:2 date_trunc:2,3 datemultirange:0+ \
    daterange:2,3 daterange_canonical:1 daterange_subdiff:2 decode:2 degrees:1 dexp:1 diagonal:1 \
    diameter:1 div:2 dlog1:1 dlog10:1 dround:1 dtrunc:1 encode:2 enum_first:1 enum_in:2 enum_last:1 \
    enum_range:1,2 enum_recv:2 enum_send:1 euc_cn_to_mic:6 euc_cn_to_utf8:6 \
    euc_jis_2004_to_shift_jis_2004:6 euc_jis_2004_to_utf8:6 euc_jp_to_mic:6 euc_jp_to_sjis:6 \
    euc_jp_to_utf8:6 euc_kr_to_mic:6 euc_kr_to_utf8:6 euc_tw_to_big5:6 euc_tw_to_mic:6 euc_tw_to_utf8:6 \
    exp:1 extract:2 factorial:1 family:1 float4:1 float8:1 floor:1 format:1+ format_type:2 \
    gb18030_to_utf8:6 gbk_to_utf8:6 gcd:2 get_bit:2 get_byte:2 get_current_ts_config:0 \
    getdatabaseencoding:0 getpgusername:0 height:1 host:1 hostmask:1 inet_client_addr:0 \
    inet_client_port:0 inet_server_addr:0 inet_server_port:0 initcap:1 int2:1 int4:1 int4inc:1 \
    int4multirange:0+ int4range:2,3 int4range_canonical:1 int4range_subdiff:2 int8:1 int8multirange:0+ \
    int8range:2,3 int8range_canonical:1 int8range_subdiff:2 interval:1,2 iso8859_1_to_utf8:6 \
    iso8859_to_utf8:6 iso_to_koi8r:6 iso_to_mic:6 iso_to_win1251:6 iso_to_win866:6 johab_to_utf8:6 \
    json_array_length:1 json_build_array:0+ json_build_object:0+ json_object:1,2 \
    json_populate_record:2,3 json_strip_nulls:1 json_to_record:1 json_to_tsvector:2,3 json_typeof:1 \
    jsonb_array_length:1 jsonb_build_array:0+ jsonb_build_object:0+ jsonb_insert:3,4 jsonb_object:1,2 \
    jsonb_path_query_array:2,3,4 jsonb_path_query_array_tz:2,3,4 jsonb_path_query_first:2,3,4 \
    jsonb_path_query_first_tz:2,3,4 jsonb_populate_record:2 jsonb_pretty:1 jsonb_set:3,4 \
    jsonb_set_lax:3,4,5 jsonb_strip_nulls:1 jsonb_to_record:1 jsonb_to_tsvector:2,3 jsonb_typeof:1 \
    justify_days:1 justify_hours:1 justify_interval:1 koi8r_to_iso:6 koi8r_to_mic:6 koi8r_to_utf8:6 \
    koi8r_to_win1251:6 koi8r_to_win866:6 koi8u_to_utf8:6 latin1_to_mic:6 latin2_to_mic:6 \
    latin2_to_win1250:6 latin3_to_mic:6 latin4_to_mic:6 lcm:2 left:2 length:1,2 like_escape:2 line:2 \
    ln:1 log:1,2 log10:1 lower:1 lpad:2,3 lseg:1,2 ltrim:1,2 macaddr:1 macaddr8:1 macaddr8_set7bit:1 \
    make_date:3 make_interval:0,1,2,3,4,5,6,7 make_time:3 make_timestamp:6 make_timestamptz:6,7 \
    makeaclitem:4 masklen:1 md5:1 mic_to_big5:6 mic_to_euc_cn:6 mic_to_euc_jp:6 mic_to_euc_kr:6 \
    mic_to_euc_tw:6 mic_to_iso:6 mic_to_koi8r:6 mic_to_latin1:6 mic_to_latin2:6 mic_to_latin3:6 \
    mic_to_latin4:6 mic_to_sjis:6 mic_to_win1250:6 mic_to_win1251:6 mic_to_win866:6 min_scale:1 mod:2 \
    money:1 multirange:1 mxid_age:1 name:1 nameconcatoid:2 netmask:1 network:1 normalize:1,2 now:0 \
    npoints:1 num_nonnulls:1+ num_nulls:1+ numeric:1,2 numeric_div_trunc:2 numeric_exp:1 numeric_inc:1 \
    numeric_ln:1 numeric_log:2 numeric_sqrt:1 nummultirange:0+ numnode:1 numrange:2,3 \
    numrange_subdiff:2 obj_description:1,2 octet_length:1 oid:1 oidvectortypes:1 overlay:3,4 \
    parse_ident:1,2 path:1 pclose:1 phraseto_tsquery:1,2 pi:0 plainto_tsquery:1,2 point:1,2 polygon:1,2 \
    popen:1 position:2 pow:2 power:2 querytree:1 quote_ident:1 quote_literal:1 quote_nullable:1 \
    radians:1 radius:1 range_merge:1 regclass:1 regexp_count:2,3,4 regexp_instr:2,3,4,5,6,7 \
    regexp_match:2,3 regexp_replace:3,4,5,6 regexp_split_to_array:2,3 regexp_substr:2,3,4,5,6 repeat:2 \
    replace:3 reverse:1 right:2 round:1,2 row_to_json:1,2 rpad:2,3 rtrim:1,2 scale:1 schema_to_xml:4 \
    schema_to_xml_and_xmlschema:4 schema_to_xmlschema:4 session_user:0 set_bit:3 set_byte:3 \
    set_masklen:2 setweight:2,3 sha224:1 sha256:1 sha384:1 sha512:1 shift_jis_2004_to_euc_jis_2004:6 \
    shift_jis_2004_to_utf8:6 shobj_description:2 sign:1 similar_escape:2 similar_to_escape:1,2 sin:1 \
    sind:1 sinh:1 sjis_to_euc_jp:6 sjis_to_mic:6 sjis_to_utf8:6 slope:2 split_part:3 sqrt:1 \
    statement_timestamp:0 string_to_array:2,3 strip:1 strpos:2 substr:2,3 substring:2,3 table_to_xml:4 \
    table_to_xml_and_xmlschema:4 table_to_xmlschema:4 tan:1 tand:1 tanh:1 text:1 textlen:1 time:1,2 \
    timestamp:1,2 timestamptz:1,2 timetz:1,2 timezone:2 to_ascii:1,2 to_char:2 to_date:2 to_hex:1 \
    to_json:1 to_jsonb:1 to_number:2 to_regclass:1 to_regcollation:1 to_regnamespace:1 to_regoper:1 \
    to_regoperator:1 to_regproc:1 to_regprocedure:1 to_regrole:1 to_regtype:1 to_timestamp:1,2 \
    to_tsquery:1,2 to_tsvector:1,2 transaction_timestamp:0 translate:3 trim_array:2 trim_scale:1 \
    trunc:1,2 ts_delete:2 ts_filter:2 ts_headline:2,3,4 ts_lexize:2 ts_rank:2,3,4 ts_rank_cd:2,3,4 \
    ts_rewrite:3 tsmultirange:0+ tsquery_phrase:3 tsrange:2,3 tsrange_subdiff:2 tstzmultirange:0+ \
    tstzrange:2,3 tstzrange_subdiff:2 tsvector_to_array:1 txid_current:0 txid_current_if_assigned:0 \
    txid_current_snapshot:0 txid_snapshot_xmax:1 txid_snapshot_xmin:1 uhc_to_utf8:6 unistr:1 upper:1 \
    utf8_to_big5:6 utf8_to_euc_cn:6 utf8_to_euc_jis_2004:6 utf8_to_euc_jp:6 utf8_to_euc_kr:6 \
    utf8_to_euc_tw:6 utf8_to_gb18030:6 utf8_to_gbk:6 utf8_to_iso8859:6 utf8_to_iso8859_1:6 \
    utf8_to_johab:6 utf8_to_koi8r:6 utf8_to_koi8u:6 utf8_to_shift_jis_2004:6 utf8_to_sjis:6 \
    utf8_to_uhc:6 utf8_to_win:6 varbit:3 varchar:1,3 version:0 websearch_to_tsquery:1,2 width:1 \
    width_bucket:2,4 win1250_to_latin2:6 win1250_to_mic:6 win1251_to_iso:6 win1251_to_koi8r:6 \
    win1251_to_mic:6 win1251_to_win866:6 win866_to_iso:6 win866_to_koi8r:6 win866_to_mic:6 \
    win866_to_win1251:6 win_to_utf8:6 xid:1 xml:1 xmlcomment:1 xpath:2,3 ";
