import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Cashier } from './Cashier.js';
import { Customer } from './Customer.js';
import './styles.css';

const customer = window.location.pathname.startsWith('/customer') || window.location.hash === '#customer';
document.title = customer ? 'Kauri — customer 顾客' : 'Kauri — cashier 收银';
document.body.className = customer ? 'customer' : 'cashier';
createRoot(document.getElementById('root')!).render(<StrictMode>{customer ? <Customer /> : <Cashier />}</StrictMode>);
