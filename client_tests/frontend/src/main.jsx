// A small React app set up the way the mission guide describes: every Sentry option
// comes from a VITE_SENTRY_* variable, which Vite bakes into the bundle at build time.
import * as Sentry from "@sentry/react";
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

const env = import.meta.env;
const apiUrl = env.VITE_API_URL || "";

Sentry.init({
  dsn: env.VITE_SENTRY_DSN,
  environment: env.VITE_SENTRY_ENVIRONMENT,
  // Unset leaves the release to the page (`window.SENTRY_RELEASE`, as Sentry's bundler plugins set it).
  release: env.VITE_SENTRY_RELEASE || undefined,
  // Unset means tracing is off; "0" means tracing is on and every trace is sampled out.
  tracesSampleRate: env.VITE_SENTRY_TRACES_SAMPLE_RATE
    ? Number(env.VITE_SENTRY_TRACES_SAMPLE_RATE)
    : undefined,
  tunnel: env.VITE_SENTRY_TUNNEL || undefined,
  integrations: [Sentry.browserTracingIntegration()],
  // The API lives on another origin, so it only gets sentry-trace and baggage when listed here.
  tracePropagationTargets: apiUrl ? [apiUrl] : [],
});

function BrokenWidget() {
  throw new Error("Widget failed to render");
}

function WidgetArea() {
  const [broken, setBroken] = useState(false);
  return (
    <section>
      <button id="break-widget" onClick={() => setBroken(true)}>
        Break the widget
      </button>
      {broken && <BrokenWidget />}
    </section>
  );
}

function addToCart() {
  Sentry.addBreadcrumb({
    category: "ui.action",
    message: "Added item to cart",
    level: "info",
    data: { item: "agent-pro", quantity: 1 },
  });
}

function sendMessage() {
  Sentry.captureMessage("Checkout page viewed", "info");
}

function navigateToSettings() {
  window.history.pushState({}, "", "/settings");
}

// `?call-api` loads the users while the page loads, as apps that fetch their data on mount do:
// the browser's http.client span, which parents the API's transaction, belongs to the pageload.
// The body is read: the SDK ends a fetch span only when its response is complete.
const callApiOnLoad = new URLSearchParams(window.location.search).has("call-api");

function ApiButton() {
  const [status, setStatus] = useState("not called");
  async function callApi() {
    try {
      const response = await fetch(`${apiUrl}/api/users`);
      await response.json();
      setStatus(String(response.status));
    } catch (error) {
      setStatus(`failed: ${error.message}`);
    }
  }
  useEffect(() => {
    if (apiUrl && callApiOnLoad) {
      callApi();
    }
  }, []);
  if (!apiUrl) {
    return null;
  }
  return (
    <p>
      <button id="call-api" onClick={callApi}>
        Call the API
      </button>{" "}
      <output id="api-status">{status}</output>
    </p>
  );
}

function App() {
  return (
    <main>
      <h1>AgentsFlowAI</h1>
      <button id="add-to-cart" onClick={addToCart}>
        Add to cart
      </button>
      <button id="send-message" onClick={sendMessage}>
        Send a message
      </button>
      <button id="navigate" onClick={navigateToSettings}>
        Open settings
      </button>
      <ApiButton />
      <Sentry.ErrorBoundary fallback={<p id="error-fallback">Something went wrong.</p>}>
        <WidgetArea />
      </Sentry.ErrorBoundary>
    </main>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
