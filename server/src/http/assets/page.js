// The market page, live: keeps each instrument's book, tape, status and
// today's trade dots up to date from /api/stream (server-sent events), and
// fetches the page again when a day opens or closes (charts and tables
// then change). Without this script the page is complete as it was sent.
// Data is put into the page as text nodes, never as markup.
(function () {
  'use strict';
  var TAPE_ROWS = 20;
  var SVG = 'http://www.w3.org/2000/svg';
  var body = document.body;
  var refreshing = null;

  function el(tag, cls, children) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  // A bilingual label, as the server writes it.
  function bi(zh, en) {
    var s = document.createDocumentFragment();
    var z = el('span', null, [zh]);
    z.lang = 'zh-Hans';
    s.appendChild(z);
    s.appendChild(document.createTextNode(' '));
    s.appendChild(el('span', 'en', [en]));
    return s;
  }

  function group(n) { return Number(n).toLocaleString('en-US'); }

  var MODES = { listed: ['挂牌', 'listed'], block: ['大宗', 'block'], auction: ['拍卖', 'auction'] };

  function byId(id) { return document.getElementById(id); }

  function setStatus(book) {
    var sym = book.instrument;
    var label = book.halted ? ['暂停交易', 'Halted'] : book.day_open ? ['交易中', 'Trading'] : ['休市', 'Closed'];
    var state = byId('state-' + sym);
    if (state && state.textContent !== label.join(' ')) {
      state.replaceChildren(bi(label[0], label[1]));
      state.classList.toggle('halted', book.halted);
    }
    document.querySelectorAll('[data-state="' + sym + '"]').forEach(function (cell) {
      cell.replaceChildren(bi(label[0], label[1]));
      cell.classList.toggle('halted', book.halted);
    });
    var band = byId('band-' + sym);
    if (band) {
      band.replaceChildren();
      if (book.day_open) {
        band.appendChild(bi('涨跌幅限制', 'Band of the day:'));
        band.appendChild(document.createTextNode(' ' + book.band_low + ' – ' + book.band_high + ' · '));
        band.appendChild(bi('基准价', 'reference'));
        band.appendChild(document.createTextNode(' ' + book.reference));
      } else {
        band.appendChild(bi('基准价（最近收盘）', 'Reference (last close):'));
        band.appendChild(document.createTextNode(' ' + book.reference));
      }
    }
  }

  function noneRow(cols, zh, en) {
    var td = el('td', 'none');
    td.colSpan = cols;
    td.appendChild(bi(zh, en));
    return el('tr', null, [td]);
  }

  function renderBook(book) {
    var table = byId('book-' + book.instrument);
    if (!table) return;
    var tbody = table.tBodies[0];
    var rows = [];
    var n = Math.max(book.bids.length, book.asks.length);
    for (var k = 0; k < n; k++) {
      var b = book.bids[k], a = book.asks[k];
      rows.push(el('tr', null, [
        el('td', null, [b ? group(b.qty) : '']),
        el('td', 'bid', [b ? b.price : '']),
        el('td', 'ask', [a ? a.price : '']),
        el('td', null, [a ? group(a.qty) : ''])
      ]));
    }
    if (n === 0) rows.push(noneRow(4, '无挂单', 'No resting orders'));
    tbody.replaceChildren.apply(tbody, rows);
    setStatus(book);
  }

  function tradeRow(t, fresh) {
    var mode = MODES[t.mode] || [t.mode, t.mode];
    var td = el('td', 'text');
    td.appendChild(bi(mode[0], mode[1]));
    return el('tr', fresh ? 'fresh' : null, [td, el('td', null, [t.price]), el('td', null, [group(t.qty)])]);
  }

  function setTapeDate(table, date) {
    table.dataset.date = date || '';
    var span = table.querySelector('.tape-date');
    if (span) span.textContent = date || '';
  }

  function renderTape(inst) {
    var table = byId('tape-' + inst.book.instrument);
    if (!table) return;
    setTapeDate(table, inst.tape_date);
    var tbody = table.tBodies[0];
    var rows = inst.trades.map(function (t) { return tradeRow(t, false); });
    if (rows.length === 0) rows.push(noneRow(3, '暂无成交', 'No trades yet'));
    tbody.replaceChildren.apply(tbody, rows);
  }

  function addTrade(t) {
    var table = byId('tape-' + t.instrument);
    if (!table) return;
    var tbody = table.tBodies[0];
    if (table.dataset.date !== t.date) {
      tbody.replaceChildren();
      setTapeDate(table, t.date);
    }
    var none = tbody.querySelector('td.none');
    if (none) none.parentNode.remove();
    tbody.insertBefore(tradeRow(t, true), tbody.firstChild);
    while (tbody.rows.length > TAPE_ROWS) tbody.deleteRow(-1);
    if (t.mode === 'listed') addDot(t);
  }

  // A dot for a listed trade in the chart's open-day band, the dots spread
  // across the band in the order of their trades.
  function addDot(t) {
    var fig = byId('chart-' + t.instrument);
    var g = fig && fig.querySelector('g.today');
    if (!g || body.dataset.date !== t.date) return;
    var d = g.dataset;
    var hi = parseFloat(d.high), lo = parseFloat(d.low), p = parseFloat(t.price);
    var top = parseFloat(d.top), bottom = parseFloat(d.bottom);
    if (!(hi > lo) || p < lo || p > hi) return;
    var c = document.createElementNS(SVG, 'circle');
    c.setAttribute('class', 'trade');
    c.setAttribute('r', '2.5');
    c.setAttribute('cy', (top + (hi - p) / (hi - lo) * (bottom - top)).toFixed(1));
    c.setAttribute('data-price', t.price);
    g.appendChild(c);
    var dots = g.querySelectorAll('circle.trade');
    var x0 = parseFloat(d.x0), w = parseFloat(d.w);
    dots.forEach(function (dot, k) {
      dot.setAttribute('cx', (x0 + (k + 0.5) / dots.length * w).toFixed(1));
    });
  }

  // Fetch the page again and swap in what a day's opening or closing changes.
  function refresh() {
    if (refreshing) return;
    refreshing = setTimeout(function () {
      fetch(location.pathname + location.search, { cache: 'no-store' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          doc.querySelectorAll('[data-refresh][id]').forEach(function (fresh) {
            var old = byId(fresh.id);
            if (old) old.replaceWith(document.importNode(fresh, true));
          });
          var status = doc.getElementById('day-status');
          if (status) byId('day-status').replaceWith(document.importNode(status, true));
          body.dataset.date = doc.body.dataset.date || '';
        })
        .catch(function () { /* the next event tries again */ })
        .then(function () { refreshing = null; });
    }, 300);
  }

  function dayChanged(date) {
    if ((date || '') !== (body.dataset.date || '')) refresh();
  }

  if (!window.EventSource) return;
  var conn = byId('conn');
  function connection(live) {
    if (!conn) return;
    conn.classList.toggle('on', live);
    conn.classList.toggle('off', !live);
    conn.replaceChildren(live ? bi('实时', 'live') : bi('重新连接中', 'reconnecting…'));
  }

  var source = new EventSource('/api/stream');
  source.onopen = function () { connection(true); };
  source.onerror = function () { connection(false); };
  source.addEventListener('snapshot', function (e) {
    var live = JSON.parse(e.data);
    live.instruments.forEach(function (i) { renderBook(i.book); renderTape(i); });
    body.dataset.seq = live.seq;
    connection(true);
    dayChanged(live.date);
  });
  source.addEventListener('trade', function (e) {
    var m = JSON.parse(e.data);
    addTrade(m.trade);
    body.dataset.seq = m.seq + 1;
  });
  source.addEventListener('book', function (e) {
    var m = JSON.parse(e.data);
    renderBook(m.book);
    dayChanged(m.book.day_open ? m.book.date : null);
  });
  source.addEventListener('day', function () { refresh(); });
})();
