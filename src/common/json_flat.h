// Flat JSON records for databases whose JSON import maps one key to one
// column (ClickHouse's JSONEachRow, Debian 12's 18.16 among them): the
// --flat-records form of --report and --messages lines.
#pragma once

#include <string>
#include <string_view>

namespace tcpscribe {

/// `line`, one JSON object, with every nested object spread into dotted
/// keys and every array of objects turned into one array per key:
///   {"c2s":{"fin":true}}                 -> {"c2s.fin":true}
///   {"run":{"skipped":{"not_ip":0}}}     -> {"run.skipped.not_ip":0}
///   {"findings":[{"kind":"a","ts":1},{"kind":"b"}]}
///                                        -> {"findings.kind":["a","b"],"findings.ts":[1,null]}
/// (a key an element lacks is null in its array, so the arrays stay the
/// same length: ClickHouse's Nested columns). Scalars, arrays of scalars,
/// empty arrays and arrays mixing objects with other values keep their
/// text byte for byte; keys keep the order of first appearance. Input that
/// is not one JSON object (or nests deeper than 64) comes back unchanged.
std::string flatten_json_object(std::string_view line);

}  // namespace tcpscribe
