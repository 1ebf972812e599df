import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './bridge/connect.js';
import { App } from './ui/App.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const result = connect();
root.render(
  <StrictMode>
    {result.ok ? <App conn={result.connection} /> : (
      <main className="centered" id="main"><p className="error" role="alert" data-testid="no-token">{result.error}</p></main>
    )}
  </StrictMode>,
);
