#include "ctl/table.h"

#include <algorithm>
#include <utility>

namespace anteroom::ctl {
namespace {

void RenderRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
               std::ostream& out) {
  // Trailing empty cells would only add trailing spaces.
  size_t last = cells.size();
  while (last > 0 && cells[last - 1].empty()) --last;
  for (size_t i = 0; i < last; ++i) {
    out << cells[i];
    if (i + 1 < last) out << std::string(widths[i] - cells[i].size() + 2, ' ');
  }
  out << '\n';
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

void Table::Render(std::ostream& out) const {
  size_t columns = headers_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<size_t> widths(columns, 0);
  auto measure = [&widths](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], cells[i].size());
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);

  if (!headers_.empty()) RenderRow(headers_, widths, out);
  for (const auto& row : rows_) RenderRow(row, widths, out);
}

}  // namespace anteroom::ctl
