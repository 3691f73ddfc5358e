/* The debug overlay (leadscore.debug(true), ?leadscore-debug), imported the
   first time it is shown. It draws explain()'s model as text in a closed
   shadow root: nothing is ever parsed as HTML. */
export function open() {
  var d = document, host = d.createElement('leadscore-debug'), style = d.createElement('style'), body = d.createElement('div');
  // `all: initial` first: it resets every property and keeps the page's styles out.
  host.setAttribute('style', 'all:initial;display:block;position:fixed;right:12px;bottom:12px;z-index:2147483647;max-width:340px');
  style.textContent = '.p{font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#101828;color:#e4e7ec;' +
    'border-radius:8px;padding:10px 12px;box-shadow:0 4px 16px #0006;white-space:pre-wrap;max-height:60vh;overflow:auto}';
  body.className = 'p';
  var root = host.attachShadow({ mode: 'closed' });
  root.appendChild(style);
  root.appendChild(body);
  d.body.appendChild(host);
  return {
    draw: function (m) {
      var t = 'leadscore · ' + m.site + '\nscore ' + m.score.toFixed(1) + ' · stage ' + m.stage + ' · grade ' + m.grade +
        '\nconsent ' + (m.consent ? 'yes' : 'no') + ' · storage ' + m.storage + '\n', i, e, o = m.outbox;
      for (i = 0; i < m.ledger.length; i++) {
        e = m.ledger[i];
        t += '  ' + e.rule.padEnd(20) + ' ' + e.points.toFixed(1).padStart(7) + '  ×' + e.count + '\n';
      }
      t += 'outbox ' + o.pending + ' waiting · ' + o.dropped + ' dropped · ' + o.expired + ' expired · ' + o.rejected + ' refused\n';
      for (i = 0; i < m.warnings.length; i++) t += '! ' + m.warnings[i] + '\n';
      body.textContent = t;
    },
    close: function () {
      host.remove();
    }
  };
}
