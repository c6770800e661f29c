// The kiosk page: renders the view the daemon pushes over Server-Sent Events. No framework, no build step.
// All text goes in through textContent, never innerHTML: names come from the database.

const $ = (id) => document.getElementById(id);

/** What each screen says and shows; `name`/`message` come from the view. */
const SCREENS = {
  badge: { icon: 'i-badge', headline: () => 'Please show your badge', subline: () => '' },
  look: { icon: 'i-face', headline: () => 'Look at the camera', subline: () => 'Hold still for a moment' },
  checking: { icon: 'i-wait', headline: () => 'Checking…', subline: () => 'Look at the camera' },
  challenge: {
    icon: 'i-face',
    headline: (v) => (v.challenge && STEPS[v.challenge.step] ? STEPS[v.challenge.step].words : 'Hold still'),
    subline: (v) =>
      v.challenge
        ? `Step ${Math.min(v.challenge.stepIndex + 1, v.challenge.stepCount)} of ${v.challenge.stepCount}`
        : '',
  },
  granted: {
    icon: 'i-check',
    headline: (v) => (v.name ? `Welcome, ${v.name}` : 'Door open'),
    subline: () => 'The door is open',
  },
  denied: { icon: 'i-cross', headline: () => 'Access denied', subline: (v) => v.message || '' },
  lockout: {
    icon: 'i-lock',
    headline: (v) => (v.mode === 'face' ? 'Access locked' : 'Badge locked'),
    subline: (v) => v.message || '',
  },
};
/** The liveness challenge's steps: a big arrow or eye, and the words. Left/right are the person's own. */
const STEPS = {
  'turn-left': { icon: 'i-left', words: 'Turn your head to your left' },
  'turn-right': { icon: 'i-right', words: 'Turn your head to your right' },
  blink: { icon: 'i-eye', words: 'Close your eyes for a moment' },
};
const BANNER_ICONS = { camera: 'i-camera', broker: 'i-network', door: 'i-door' };

let view = null;
let clockOffsetMs = 0;
let slideIndex = 0;
let slideTimer = null;
let previewTimer = null;
let countdownTotalMs = 0;

function useIcon(svg, id) {
  svg.querySelector('use').setAttribute('href', `#${id}`);
}

function render(next) {
  const previous = view;
  view = next;
  clockOffsetMs = next.serverNow - Date.now();
  document.body.dataset.screen = next.screen;
  document.body.dataset.mode = next.mode;
  $('site-name').textContent = next.siteName;
  $('idle-site').textContent = next.siteName;

  const screen = SCREENS[next.screen];
  if (screen) {
    const step = next.screen === 'challenge' && next.challenge ? STEPS[next.challenge.step] : null;
    useIcon($('prompt-icon'), step ? step.icon : screen.icon);
    $('headline').textContent = screen.headline(next);
    $('subline').textContent = screen.subline(next);
  }
  if (next.deadline && (!previous || previous.deadline !== next.deadline)) {
    countdownTotalMs = Math.max(1000, next.deadline - next.serverNow);
  }
  $('countdown-wrap').hidden = !(next.screen === 'look' && next.deadline);
  $('challenge-wrap').hidden = !(next.screen === 'challenge' && next.challenge);
  if (next.challenge) $('challenge-bar').style.width = `${Math.round(next.challenge.fraction * 100)}%`;

  renderBanners(next.banners);
  renderProgress(next.portraitProgress);
  if (!previous || JSON.stringify(previous.portraits) !== JSON.stringify(next.portraits)) startSlideshow();
  renderPreview();
  tick();
}

function renderBanners(banners) {
  const list = $('banners');
  list.replaceChildren(
    ...banners.map((b) => {
      const li = document.createElement('li');
      li.dataset.kind = b.kind;
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('class', 'icon-inline');
      const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
      use.setAttribute('href', `#${BANNER_ICONS[b.kind] || 'i-wait'}`);
      svg.append(use);
      const text = document.createElement('span');
      text.textContent = b.text;
      li.append(svg, text);
      return li;
    }),
  );
}

function renderProgress(progress) {
  const p = $('progress');
  p.hidden = !progress;
  if (progress) {
    const percent = progress.percent === null ? '' : ` · ${Math.round(progress.percent)}%`;
    p.textContent = `Painting a welcome portrait in the style “${progress.style}”${percent}`;
  }
}

function startSlideshow() {
  clearInterval(slideTimer);
  slideIndex = 0;
  showSlide();
  if (view && view.portraits.length > 1) {
    slideTimer = setInterval(() => {
      slideIndex = (slideIndex + 1) % view.portraits.length;
      showSlide();
    }, view.slideSeconds * 1000);
  }
}

function showSlide() {
  const portraits = view ? view.portraits : [];
  $('slideshow').hidden = portraits.length === 0;
  document.body.classList.toggle('has-portraits', portraits.length > 0);
  const current = portraits[slideIndex % Math.max(1, portraits.length)];
  if (!current) return;
  $('slide').src = current.url;
  $('slide').alt = `Welcome portrait of ${current.name}`;
  $('slide-caption').textContent = `${current.name} · ${current.style}`;
}

function renderPreview() {
  const wanted = Boolean(view?.preview && view.screen !== 'idle');
  $('preview').hidden = !wanted;
  if (wanted && !previewTimer) {
    previewTimer = setInterval(() => {
      $('preview').src = `/preview.jpg?t=${Date.now()}`;
    }, 500);
  } else if (!wanted && previewTimer) {
    clearInterval(previewTimer);
    previewTimer = null;
  }
}

function tick() {
  const now = new Date(Date.now() + clockOffsetMs);
  const time = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  $('clock').textContent = time;
  $('clock-small').textContent = time;
  $('date').textContent = now.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long' });
  if (view && view.screen === 'look' && view.deadline) {
    const leftMs = Math.max(0, view.deadline - now.getTime());
    const seconds = Math.ceil(leftMs / 1000);
    $('countdown').textContent = `${seconds} s left`;
    $('countdown').dataset.seconds = String(seconds);
    $('countdown-bar').style.width = `${Math.min(100, (leftMs / countdownTotalMs) * 100)}%`;
  }
}

function connect() {
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    document.body.dataset.connected = 'true';
  });
  source.addEventListener('state', (event) => {
    let next;
    try {
      next = JSON.parse(event.data);
    } catch {
      return;
    }
    // The daemon was upgraded: load the new page rather than render with the old one.
    if (view && next.pageVersion !== view.pageVersion) {
      location.reload();
      return;
    }
    document.body.dataset.connected = 'true';
    render(next);
  });
  source.addEventListener('error', () => {
    document.body.dataset.connected = 'false';
    // EventSource retries by itself after a dropped stream, but gives up for good after an HTTP error.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 2000);
    }
  });
}

setInterval(tick, 250);
tick();
connect();
