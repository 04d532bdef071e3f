// In an iframe, tells the embedding page how tall the content is, so that a course page can
// size the frame to fit (see static/embed-example.html). Only the height is sent.
export function reportHeight() {
  if (window.parent === window) return;
  const send = () => window.parent.postMessage({ patchbay: 'height', height: Math.ceil(document.body.getBoundingClientRect().height) + 32 }, '*');
  new ResizeObserver(send).observe(document.body);
  send();
}
