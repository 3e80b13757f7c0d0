/* Sort and filter the tables of an auditor's page, offline: no request, no library.
   A table with a header row and at least two body rows gets a filter box above it (rows not
   containing the typed text are hidden on screen, still printed) and headers that sort the rows
   on a click (again: the other way). Cell text is read with textContent and written nowhere:
   rows are moved, never rebuilt, so no evidence value is ever parsed as HTML.
   Population walks are left alone: their order is the walk. */
(function () {
  "use strict";
  var SKIP = "population-walk";
  var NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

  function text(cell) { return (cell.textContent || "").trim(); }

  function compareText(x, y) {
    var nx = NUMBER.test(x.replace(/,/g, "")), ny = NUMBER.test(y.replace(/,/g, ""));
    if (nx && ny) { return Number(x.replace(/,/g, "")) - Number(y.replace(/,/g, "")); }
    if (nx !== ny) { return nx ? -1 : 1; } /* figures before words */
    return x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"});
  }

  function simpleRows(table) {
    var body = table.tBodies[0], head = table.tHead;
    if (!body || !head || head.rows.length === 0 || table.tBodies.length !== 1) { return null; }
    var width = head.rows[head.rows.length - 1].cells.length, rows = Array.prototype.slice.call(body.rows);
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].cells.length !== width) { return null; }
      for (var j = 0; j < width; j++) {
        if (rows[i].cells[j].rowSpan !== 1 || rows[i].cells[j].colSpan !== 1) { return null; }
      }
    }
    return rows.length >= 2 ? rows : null;
  }

  function makeSortable(table, rows) {
    var body = table.tBodies[0], headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    var original = rows.slice();
    Array.prototype.forEach.call(headers, function (th, column) {
      th.classList.add("evidence-sortable");
      th.tabIndex = 0;
      th.title = "Sort by this column";
      function sort() {
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var ordered = original.slice().sort(function (r, s) {
          var x = text(r.cells[column]), y = text(s.cells[column]);
          if ((x === "") !== (y === "")) { return x === "" ? 1 : -1; } /* blanks last, either way */
          var c = compareText(x, y);
          if (c === 0) { return original.indexOf(r) - original.indexOf(s); }
          return descending ? -c : c;
        });
        ordered.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }

  function addFilter(table, rows) {
    var tools = document.createElement("div"), box = document.createElement("input"),
        shown = document.createElement("span");
    tools.className = "evidence-table-tools";
    box.type = "search";
    box.className = "evidence-filter";
    box.placeholder = "Filter rows";
    box.setAttribute("aria-label", "Filter the rows of the table below");
    shown.className = "evidence-filter-count";
    shown.setAttribute("aria-live", "polite");
    function apply() {
      var wanted = box.value.trim().toLowerCase(), visible = 0;
      rows.forEach(function (row) {
        var keep = wanted === "" || (row.textContent || "").toLowerCase().indexOf(wanted) !== -1;
        row.classList.toggle("evidence-filtered-out", !keep);
        visible += keep ? 1 : 0;
      });
      shown.textContent = visible + " of " + rows.length + " rows shown";
    }
    box.addEventListener("input", apply);
    tools.appendChild(box);
    tools.appendChild(shown);
    table.parentNode.insertBefore(tools, table);
    apply();
  }

  /* Whole words where they fit. The stylesheet alone lets any cell break anywhere, so that every
     table fits any width; here short words (ids, dates, column names) are kept whole when the
     table's narrowest layout fits with some room to spare, within ROOM_EM (an 816 px window, A4
     and Letter paper all give more room than that) and within the table's box. */
  var SHORT_WORD = 16, ROOM_EM = 56, SLACK = 0.85, TIERS = ["evidence-words-all", "evidence-words-heads"];

  /* A column name may break after each underscore (owner_ / employee_id): a <wbr> element is
     put between the pieces of the header's own text nodes, whose text stays as it was. */
  function breakAfterUnderscores(cell) {
    Array.prototype.slice.call(cell.childNodes).forEach(function (node) {
      if (node.nodeType !== Node.TEXT_NODE || node.nodeValue.indexOf("_") === -1) { return; }
      var pieces = node.nodeValue.split("_");
      pieces.forEach(function (piece, i) {
        var last = i === pieces.length - 1;
        cell.insertBefore(document.createTextNode(last ? piece : piece + "_"), node);
        if (!last) { cell.insertBefore(document.createElement("wbr"), node); }
      });
      cell.removeChild(node);
    });
  }

  function keepWordsWhole(table) {
    Array.prototype.forEach.call(table.rows, function (row) {
      Array.prototype.forEach.call(row.cells, function (cell) {
        var heading = cell.tagName === "TH", longest = 0;
        if (heading) { breakAfterUnderscores(cell); }
        text(cell).split(heading ? /[\s_]+/ : /\s+/).forEach(function (w) { longest = Math.max(longest, w.length); });
        if (longest <= SHORT_WORD) { cell.classList.add("evidence-short"); }
      });
    });
    function decide() {
      var em = parseFloat(window.getComputedStyle(table).fontSize) || 13,
          /* some room is left over for the columns of long text, so that they are not squeezed */
          room = SLACK * Math.min(ROOM_EM * em, table.parentElement.clientWidth || Infinity),
          width = table.style.width, maxWidth = table.style.maxWidth, layout = table.style.tableLayout;
      TIERS.forEach(function (tier) { table.classList.remove(tier); });
      table.style.width = "1px"; /* a table is never narrower than its narrowest layout */
      table.style.maxWidth = "none";
      table.style.tableLayout = "auto";
      for (var i = 0; i < TIERS.length; i++) {
        table.classList.add(TIERS[i]);
        if (table.offsetWidth <= room) { break; }
        table.classList.remove(TIERS[i]);
      }
      table.style.width = width;
      table.style.maxWidth = maxWidth;
      table.style.tableLayout = layout;
    }
    decide();
    return decide;
  }

  /* On paper everything is shown: collapsed details open for printing, closed again after. */
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  function start() {
    var refits = [];
    Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
      var rows = table.classList.contains(SKIP) || table.closest(".evidence-header") ? null : simpleRows(table);
      if (rows) {
        makeSortable(table, rows);
        addFilter(table, rows);
      }
      refits.push(keepWordsWhole(table));
    });
    function refitAll() { refits.forEach(function (refit) { refit(); }); }
    /* again when the window changes, and for paper, where the font and the page's width differ */
    window.addEventListener("resize", refitAll);
    window.addEventListener("beforeprint", refitAll);
    window.addEventListener("afterprint", refitAll);
    if (window.matchMedia) { window.matchMedia("print").addListener(refitAll); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
