#pragma once

// A plain-text table with aligned columns, for anteroomctl's human output:
//
//   ID    TOTAL ACTIVE  NEW/MIN
//   shop  1000          60
//
// Columns are separated by two spaces; the last column is not padded. Not thread-safe.

#include <ostream>
#include <string>
#include <vector>

namespace anteroom::ctl {

class Table {
 public:
  // `headers` may be empty for a table without a header row (key/value listings).
  explicit Table(std::vector<std::string> headers = {});

  // Rows shorter than the widest row are padded with empty cells.
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  // Writes the header row (if any) and every row, each ending in '\n'.
  void Render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace anteroom::ctl
